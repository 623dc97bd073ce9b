"""`usher -f POD`: the shutdown of a pod, with dist/usher as a real PID 1. On SIGTERM every
container's preStop (exec, waited for, or sleep) starts at once, sidecars' included; each main
gets its stop signal when its own preStop ends; each sidecar when its own preStop has ended and
every main and every later sidecar has exited (reverse start order), as the kubelet does;
terminationGracePeriodSeconds (or --grace) is one deadline for all of it, hooks included, and
at the stop window before it (--min-stop-window) whoever still waits gets its stop signal.
A main container that exits by itself starts the same shutdown and gives usher its status.
Other signals go to every main container."""
import json
import signal
import time

import pytest

from conftest import ms
from helpers.proc import alive
from helpers.podfile import container, pre_stop_exec, pre_stop_sleep, sidecar, write_pod


def test_sigterm_runs_pre_stops_mains_in_parallel_then_sidecars_in_reverse(usher, act, tmp_path):
    pod = write_pod(
        tmp_path,
        init=[sidecar("logs", act("logs"), lifecycle=pre_stop_exec(act("logs-hook", "--exit-after", 400))),
              sidecar("proxy", act("proxy", "--linger", 200), lifecycle=pre_stop_sleep(1))],
        containers=[container("web", act("web"), lifecycle=pre_stop_sleep(1)),
                    container("worker", act("worker", "--stop-on", "INT", "--linger", 200),
                              lifecycle={**pre_stop_sleep(1), "stopSignal": "SIGINT"})],
        os={"name": "linux"})  # stopSignal requires it
    u = usher(["-f", pod])
    u.wait_started("logs", "proxy", "web", "worker")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143, "web exited first (worker lingers), so its status is usher's"
    web_sig, worker_sig = u.first("web", "signal"), u.first("worker", "signal")
    assert web_sig[2] == "15" and worker_sig[2] == "2", "each main gets its own stopSignal"
    for sig in (web_sig, worker_sig):
        assert 950 <= ms(sig[3] - sent) < 2000, f"{sig[0]}: the stop signal should follow its 1s preStop"
    assert abs(ms(web_sig[3] - worker_sig[3])) < 500, "the mains' preStops run in parallel"
    mains_done = max(u.first("web", "exit")[3], u.first("worker", "exit")[3])
    assert not [e for e in u.events() if e[0] in ("logs", "proxy", "logs-hook") and e[1] in ("signal",) and e[3] < mains_done]
    # proxy (started last) first: its 1s preStop sleep began at the stop request, with the
    # mains', and its signal waits for that sleep and for the mains to have exited.
    proxy_sig = u.first("proxy", "signal", "15")
    assert ms(proxy_sig[3] - sent) >= 950, "proxy's preStop sleep did not come before its signal"
    assert proxy_sig[3] >= mains_done
    # Then logs: its preStop hook started at the stop request too; its signal comes after the
    # hook has exited and after proxy, the later sidecar, has exited.
    hook_start, hook_exit = u.first("logs-hook", "start"), u.first("logs-hook", "exit")
    assert ms(hook_start[3] - sent) < 500, "logs' preStop hook did not start at the stop request"
    assert hook_exit[3] < mains_done, "setup: the hook (400 ms) ends while the mains still run"
    logs_sig = u.first("logs", "signal", "15")
    assert logs_sig[3] >= hook_exit[3] and logs_sig[3] >= u.first("proxy", "exit")[3]
    assert u.ended_at >= u.first("logs", "exit")[3]
    texts = u.log_texts()
    assert "received SIGTERM, shutting down (deadline in 30s)" in texts, texts
    pids = {n: u.first(n, "start")[4] for n in ("logs", "proxy", "web", "worker")}
    hook_pid = hook_start[4]
    # Every preStop is logged at the stop request, before any stop signal.
    first_stop = next(i for i, t in enumerate(texts) if " stopping with " in t)
    for line in (f"web[{pids['web']}] preStop: waiting 1s before its stop signal",
                 f"worker[{pids['worker']}] preStop: waiting 1s before its stop signal",
                 f"proxy[{pids['proxy']}] preStop: waiting 1s before its stop signal",
                 f"logs[{pids['logs']}] preStop: hook[{hook_pid}] started"):
        assert line in texts[:first_stop], f"{line!r} not before the first stop signal in\n" + "\n".join(texts)
    for line in (f"web[{pids['web']}] preStop: waiting 1s before its stop signal",
                 f"worker[{pids['worker']}] stopping with SIGINT",
                 f"proxy[{pids['proxy']}] preStop: waiting 1s before its stop signal",
                 f"logs[{pids['logs']}] preStop: hook[{hook_pid}] started",
                 f"logs[{pids['logs']}] stopping with SIGTERM"):
        assert line in texts, f"{line!r} not in\n" + "\n".join(texts)
    assert any(t.startswith(f"logs preStop: hook[{hook_pid}] exited with status 0 after 0.") for t in texts), texts
    stopping = [t.split("[")[0] for t in texts if " stopping with " in t]
    assert sorted(stopping[:2]) == ["web", "worker"] and stopping[2:] == ["proxy", "logs"], stopping
    assert texts[-1] == "exiting with status 143"


def test_a_main_container_that_exits_stops_the_others_and_gives_usher_its_status(usher, act, tmp_path):
    pod = write_pod(
        tmp_path,
        init=[sidecar("a", act("a")), sidecar("b", act("b"))],
        containers=[container("job", act("job", "--exit-after", 600, "--code", 5)),
                    container("web", act("web", "--stop-on", "USR1", "--code", 0),
                              lifecycle={**pre_stop_exec(act("web-hook", "--exit-after", 300)), "stopSignal": "SIGUSR1"})],
        os={"name": "linux"})  # stopSignal requires it
    u = usher(["-f", pod])
    assert u.wait() == 5
    job_exit = u.first("job", "exit")
    hook_start, hook_exit = u.first("web-hook", "start"), u.first("web-hook", "exit")
    assert hook_start[3] >= job_exit[3], "web's preStop began before job had exited"
    web_sig = u.first("web", "signal")
    assert web_sig[2] == str(int(signal.SIGUSR1)) and web_sig[3] >= hook_exit[3]
    assert u.first("b", "signal", "15")[3] >= u.first("web", "exit")[3]
    assert u.first("a", "signal", "15")[3] >= u.first("b", "exit")[3]
    assert not u.find("job", "signal"), "the main that exited is not signalled"
    pid = job_exit[4]
    texts = u.log_texts()
    assert any(t.startswith(f"job[{pid}] exited with status 5 after running 0.") for t in texts), texts
    assert texts[-1] == "exiting with status 5"


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH])
def test_other_signals_go_to_every_main_container_and_no_sidecar(usher, act, tmp_path, sig):
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy"))],
                    containers=[container("web", act("web")), container("worker", act("worker"))])
    u = usher(["-f", pod])
    u.wait_started("proxy", "web", "worker")
    u.signal(sig)
    u.wait_for(lambda: u.find("web", "signal", str(int(sig))) and u.find("worker", "signal", str(int(sig))),
               what=f"{sig.name} at both mains")
    time.sleep(0.2)
    assert u.running(), "a forwarded signal stopped nothing"
    assert not u.find("proxy", "signal")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- the deadline ------------------------------------------------------------------------------

def test_termination_grace_period_is_one_deadline_that_kills_hooks_too(usher, act, tmp_path):
    """web's preStop hook never ends: at the stop window (300 ms before the 2s deadline) the hook
    is ended, web gets its stop signal with its preStop cut short and the sidecar (never reached
    by the ordered shutdown) its own before its turn; both note SIGTERM and run on, and at the
    deadline both get SIGKILL. (With the default 2s window a 2s grace would run no preStop.)"""
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=2,
                    init=[sidecar("proxy", act("proxy", "--catch", "TERM"))],
                    containers=[container("web", act("web", "--catch", "TERM"), lifecycle=pre_stop_exec(act("web-hook")))])
    u = usher(["--log-format", "json", "--min-stop-window", "300ms", "-f", pod])
    u.wait_started("proxy", "web")
    sent = u.signal(signal.SIGTERM)
    u.wait_started("web-hook")
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 1950 <= took < 3500, f"usher ended {took:.0f} ms after SIGTERM, its deadline is 2s"
    for name in ("web", "proxy"):
        got = u.find(name, "signal")
        assert [e[2] for e in got] == ["15"] and 1650 <= ms(got[0][3] - sent) < 2000, \
            f"{name}'s stop signal should wait for the stop window, 1.7s in: {got}"
    assert not u.find("web-hook", "exit") and not u.find("web", "exit") and not u.find("proxy", "exit")
    assert not u.find("web-hook", "signal"), "the hook is ended with SIGKILL"
    records = [json.loads(l) for l in u.stderr().splitlines() if l.startswith("{")]
    window = sorted((r["process"], r["reason"]) for r in records if r["event"] == "stop_window")
    assert window == [("proxy", "turn_not_come"), ("web", "pre_stop_cut_short")], records
    killed = sorted(r["process"] for r in records if r["event"] == "killed_at_deadline")
    assert killed == ["proxy", "web"], records
    assert [r["event"] for r in records if r["event"] == "stop_requested"] == ["stop_requested"], records
    hook = [r for r in records if r["event"] == "pre_stop"]
    assert len(hook) == 1 and hook[0]["process"] == "web" and hook[0]["hook_pid"] == u.first("web-hook", "start")[4], hook
    # The hook ended by the engine is no exit of its own: no pre_stop_exited.
    assert not [r for r in records if r["event"] == "pre_stop_exited"], records
    assert records[-1]["event"] == "exiting" and records[-1]["status"] == 137


def test_the_deadline_kills_a_hung_pre_stop_hook_with_its_whole_group(usher, act, tmp_path):
    """Not as PID 1 (the kernel would kill the namespace anyway): the hook is a shell whose child
    sleeps; the stop window (300 ms before the 1s deadline) ends the hook, web notes its SIGTERM
    and runs on to the deadline; by then the hook and its child are gone, and usher does not
    wait for the sleep. (With the default 2s window a 1s grace would run no preStop.)"""
    pidfile = tmp_path / "sleep.pid"
    hook = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=1,
                    containers=[container("web", act("web", "--catch", "TERM"), lifecycle=pre_stop_exec(hook))])
    u = usher(["--min-stop-window", "300ms", "-f", pod], pid1=False)
    u.wait_started("web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    assert 950 <= ms(u.ended_at - sent) < 2500
    assert pidfile.exists(), "the preStop hook did not run"
    sleep_pid = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while alive(sleep_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(sleep_pid), "the hook's child outlived the deadline"


def test_grace_flag_overrides_termination_grace_period_seconds(usher, act, tmp_path):
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=30,
                    containers=[container("web", act("web", "--ignore", "TERM"))])
    u = usher(["--grace", "1s", "-f", pod])
    u.wait_started("web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 950 <= took < 2500, took
    texts = u.log_texts()
    assert "received SIGTERM, shutting down (deadline in 1s)" in texts, texts
    pid = u.first("web", "start")[4]
    assert f"web[{pid}] still running at the deadline: SIGKILL" in texts


def test_the_deadline_counts_from_the_main_s_own_exit_too(usher, act, tmp_path):
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=1,
                    init=[sidecar("stubborn", act("stubborn", "--ignore", "TERM"))],
                    containers=[container("job", act("job", "--exit-after", 300, "--code", 0))])
    u = usher(["-f", pod])
    assert u.wait() == 0, "the main's status, even when a sidecar had to be killed"
    took = ms(u.ended_at - u.first("job", "exit")[3])
    assert 950 <= took < 2500, took
    pid = u.first("stubborn", "start")[4]
    assert f"stubborn[{pid}] still running at the deadline: SIGKILL" in u.log_texts()


def test_json_pre_stop_exited_names_the_signal_that_killed_the_hook(usher, act, tmp_path):
    """The hook dies of a signal by itself (a hook ended by the engine, at the stop window or
    with its container, is not reported as an exit of its own: see above): pre_stop_exited
    names the signal, and web's stop signal follows."""
    marker = tmp_path / "hook-ran"
    hook = ["sh", "-c", f"touch {marker}; kill -KILL $$"]
    pod = write_pod(tmp_path, containers=[container("web", act("web"), lifecycle=pre_stop_exec(hook))])
    u = usher(["--log-format", "json", "-f", pod])
    u.wait_started("web")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert marker.exists(), "the hook did not run"
    records = [json.loads(l) for l in u.stderr().splitlines() if l.startswith("{")]
    hook = [r for r in records if r["event"] == "pre_stop_exited"]
    assert len(hook) == 1 and hook[0]["process"] == "web" and hook[0].get("signal") == "SIGKILL", hook
    assert hook[0].get("status") == 137, hook
    exited = next(r for r in records if r["event"] == "exited" and r["process"] == "web")
    assert exited["signal"] == "SIGTERM"
    assert records.index(hook[0]) < records.index(next(r for r in records if r["event"] == "stopping"))
