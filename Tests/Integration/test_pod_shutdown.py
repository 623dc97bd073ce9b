"""`usher -f POD`: the shutdown of a pod, with dist/usher as a real PID 1. On SIGTERM each main
container's preStop (exec, waited for, or sleep) then its stop signal, the mains in parallel;
then each sidecar in reverse start order, its preStop then its stop signal, waited for before the
next; terminationGracePeriodSeconds (or --grace) is one deadline for all of it, hooks included.
A main container that exits by itself starts the same shutdown and gives usher its status.
Other signals go to every main container."""
import json
import signal
import time

import pytest

from conftest import ms, state
from helpers.podfile import container, pre_stop_exec, pre_stop_sleep, sidecar, write_pod


def test_sigterm_runs_pre_stops_mains_in_parallel_then_sidecars_in_reverse(usher, act, tmp_path):
    pod = write_pod(
        tmp_path,
        init=[sidecar("logs", act("logs"), lifecycle=pre_stop_exec(act("logs-hook", "--exit-after", 400))),
              sidecar("proxy", act("proxy", "--linger", 200), lifecycle=pre_stop_sleep(1))],
        containers=[container("web", act("web"), lifecycle=pre_stop_sleep(1)),
                    container("worker", act("worker", "--stop-on", "INT", "--linger", 200),
                              lifecycle={**pre_stop_sleep(1), "stopSignal": "SIGINT"})])
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
    # proxy (started last) first: its 1s preStop sleep begins once the mains have exited.
    proxy_sig = u.first("proxy", "signal", "15")
    assert ms(proxy_sig[3] - mains_done) >= 950, "proxy's preStop sleep did not come before its signal"
    # Then logs: its preStop hook after proxy has exited, its signal after the hook has exited.
    hook_start, hook_exit = u.first("logs-hook", "start"), u.first("logs-hook", "exit")
    assert hook_start[3] >= u.first("proxy", "exit")[3]
    logs_sig = u.first("logs", "signal", "15")
    assert logs_sig[3] >= hook_exit[3] and ms(logs_sig[3] - hook_start[3]) >= 390
    assert u.ended_at >= u.first("logs", "exit")[3]
    texts = u.log_texts()
    assert "received SIGTERM, shutting down (deadline in 30s)" in texts, texts
    pids = {n: u.first(n, "start")[4] for n in ("logs", "proxy", "web", "worker")}
    hook_pid = hook_start[4]
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
                              lifecycle={**pre_stop_exec(act("web-hook", "--exit-after", 300)), "stopSignal": "SIGUSR1"})])
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
    """web's preStop hook never ends: at the 2s deadline the hook, web and the sidecar (never
    reached by the ordered shutdown) all get SIGKILL."""
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=2,
                    init=[sidecar("proxy", act("proxy"))],
                    containers=[container("web", act("web"), lifecycle=pre_stop_exec(act("web-hook")))])
    u = usher(["--log-format", "json", "-f", pod])
    u.wait_started("proxy", "web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 1950 <= took < 3500, f"usher ended {took:.0f} ms after SIGTERM, its deadline is 2s"
    u.first("web-hook", "start")
    assert not u.find("web", "signal"), "web's stop signal waits for its preStop hook"
    assert not u.find("proxy", "signal"), "the sidecar's turn never came"
    assert not u.find("web-hook", "exit") and not u.find("web", "exit") and not u.find("proxy", "exit")
    records = [json.loads(l) for l in u.stderr().splitlines() if l.startswith("{")]
    killed = sorted(r["process"] for r in records if r["event"] == "killed_at_deadline")
    assert killed == ["proxy", "web"], records
    assert [r["event"] for r in records if r["event"] == "stop_requested"] == ["stop_requested"], records
    hook = [r for r in records if r["event"] == "pre_stop_exited"]
    assert len(hook) == 1 and hook[0]["process"] == "web" and hook[0]["status"] == 137, hook
    assert hook[0]["hook_pid"] == u.first("web-hook", "start")[4]
    assert records[-1]["event"] == "exiting" and records[-1]["status"] == 137


def test_the_deadline_kills_a_hung_pre_stop_hook_with_its_whole_group(usher, act, tmp_path):
    """Not as PID 1 (the kernel would kill the namespace anyway): the hook is a shell whose child
    sleeps; at the deadline both are gone, and usher does not wait for the sleep."""
    pidfile = tmp_path / "sleep.pid"
    hook = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=1,
                    containers=[container("web", act("web"), lifecycle=pre_stop_exec(hook))])
    u = usher(["-f", pod], pid1=False)
    u.wait_started("web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    assert ms(u.ended_at - sent) < 2500
    sleep_pid = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while state(sleep_pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state(sleep_pid) in (None, "Z"), "the hook's child outlived the deadline"


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
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=1,
                    containers=[container("web", act("web"), lifecycle=pre_stop_exec(act("web-hook")))])
    u = usher(["--log-format", "json", "-f", pod])
    u.wait_started("web")
    u.signal(signal.SIGTERM)
    u.wait_started("web-hook")  # the hook runs on the stop request, and outlives the 1s deadline
    assert u.wait() == 137
    records = [json.loads(l) for l in u.stderr().splitlines() if l.startswith("{")]
    exited = next(r for r in records if r["event"] == "exited" and r["process"] == "web")
    assert exited["signal"] == "SIGKILL"
    hook = next(r for r in records if r["event"] == "pre_stop_exited")
    assert hook.get("signal") == "SIGKILL", hook
