"""Processes that misbehave, with dist/usher as a real PID 1 (and as a subreaper where noted):
they ignore SIGTERM, exit in the middle of their own preStop, double-fork out of their process
group, close or redirect their output, exit while usher is still starting the next one, die
during the shutdown, or exit at the very moment the stop signal arrives. Each time usher keeps
the order, the deadline and the exit status."""
import os
import signal
import subprocess
import time

import pytest

from conftest import USHER, ms
from helpers.podfile import container, exec_probe, pre_stop_exec, pre_stop_sleep, sidecar, write_pod
from helpers.proc import alive, ppid
from helpers.reliability import below, wait_until


def events(path):
    try:
        return [l.split(" ") for l in open(path).read().splitlines()]
    except FileNotFoundError:
        return []


# --- ignoring SIGTERM ----------------------------------------------------------------------------

def stop_and_check_order(p, usher_pid, events_log):
    """SIGTERM to usher (under unshare process p): it exits 143, and the sidecar "side" got its
    SIGTERM only once "main" had exited."""
    os.kill(usher_pid, signal.SIGTERM)
    assert p.wait(timeout=10) == 143
    ev = events(events_log)
    main_exit = next(e for e in ev if e[0] == "main" and e[1] == "exit")
    side_sig = next(e for e in ev if e[0] == "side" and e[1] == "signal")
    assert side_sig[2] == "15" and int(side_sig[3]) >= int(main_exit[3])


def test_a_main_ignoring_sigterm_after_its_pre_stop_is_killed_at_the_deadline(usher, act, tmp_path):
    """preStop sleep 1s, then SIGTERM, which the main ignores: the sidecar's turn never comes, so
    it gets its SIGTERM at the stop window (300ms before the deadline; it notes it and runs on),
    and at the 2s deadline both get SIGKILL; usher exits 137 at 2s, not later. (With the
    default 2s window a 2s grace would leave no room for the preStop.)"""
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=2,
                    init=[sidecar("proxy", act("proxy", "--catch", "TERM"))],
                    containers=[container("web", act("web", "--ignore", "TERM"), lifecycle=pre_stop_sleep(1))])
    u = usher(["--min-stop-window", "300ms", "-f", pod])
    u.wait_started("proxy", "web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 1950 <= took < 3500, took
    texts = u.log_texts()
    pids = {n: u.first(n, "start")[4] for n in ("proxy", "web")}
    i_stop = texts.index(f"web[{pids['web']}] stopping with SIGTERM")
    i_kill = texts.index(f"web[{pids['web']}] still running at the deadline: SIGKILL")
    assert i_stop < i_kill
    assert f"proxy[{pids['proxy']}] still running at the deadline: SIGKILL" in texts
    proxy_sig = u.find("proxy", "signal")
    assert [e[2] for e in proxy_sig] == ["15"] and 1650 <= ms(proxy_sig[0][3] - sent) < 2000, \
        f"the sidecar's stop signal should come at the stop window, 1.7s in: {proxy_sig}"
    assert any(t.startswith(f"proxy[{pids['proxy']}] stopping with SIGTERM") and "stop window" in t for t in texts), texts
    assert not u.find("web", "exit")
    assert texts[-1] == "exiting with status 137"


def test_a_sidecar_ignoring_sigterm_is_killed_at_the_deadline_and_the_next_still_gets_nothing_early(usher, act):
    """Sidecars a, b; b ignores SIGTERM. a's turn would come only after b is gone, which is at the
    deadline: a gets its SIGTERM only at the stop window (300ms before the deadline; it notes it
    and runs on) and is killed at the deadline with b; usher keeps the main's status (143).
    (With the default 2s window a 1.5s grace would send every stop signal at once.)"""
    u = usher(["--grace", "1500ms", "--min-stop-window", "300ms", "--sidecar", "a=" + act.line("a", "--catch", "TERM"),
               "--sidecar", "b=" + act.line("b", "--ignore", "TERM"), "--", *act("main", "--linger", 100)])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert 1450 <= ms(u.ended_at - sent) < 3000
    assert u.first("main", "exit")[2] == "143"
    a_sig = u.find("a", "signal")
    assert a_sig and ms(a_sig[0][3] - sent) >= 1150, f"a was signalled while b still ran, before the stop window: {a_sig}"
    texts = u.log_texts()
    b, a = u.first("b", "start")[4], u.first("a", "start")[4]
    assert any(t.startswith(f"a[{a}] stopping with SIGTERM") and "stop window" in t for t in texts), texts
    assert f"b[{b}] stopping with SIGTERM" in texts
    assert f"b[{b}] still running at the deadline: SIGKILL" in texts and f"a[{a}] still running at the deadline: SIGKILL" in texts
    assert texts[-1] == "exiting with status 143"


# --- exiting during its own preStop -----------------------------------------------------------

@pytest.mark.parametrize("hook, pid1", [("sleep", True), ("exec", True), ("exec", False)],
                         ids=["sleep", "exec-pid1", "exec-subreaper"])
def test_a_main_that_exits_during_its_own_pre_stop(usher, act, tmp_path, hook, pid1):
    """The main exits by itself (status 4) 1.2s after it started, in the middle of its 5s preStop
    (a sleep, or an exec hook that never ends): usher does not sit out the rest of the preStop,
    sends no stop signal to a process that is gone, ends the hook with it, stops the sidecar at
    once, and exits 4. The hook's end is not logged as an exit of its own (the engine cancels a
    container's hook when the container is gone); as a subreaper, where the end of usher does
    not end the pid namespace, the hook is seen to be gone when usher has exited."""
    lifecycle = pre_stop_sleep(5) if hook == "sleep" else pre_stop_exec(act("hook"))
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy"))],
                    containers=[container("web", act("web", "--exit-after", 1200, "--code", 4), lifecycle=lifecycle)])
    u = usher(["-f", pod], pid1=pid1)
    u.wait_started("proxy", "web")
    sent = u.signal(signal.SIGTERM)
    hook_procs = []
    if hook == "exec":
        u.wait_started("hook")
        hook_procs = [int(u.first("hook", "start")[4])] if not pid1 else below(u.pid, "hook")
    try:
        code = u.wait()
    finally:
        gone = wait_until(lambda: not any(alive(p) for p in hook_procs), 2)
        for p in hook_procs:
            if alive(p):
                os.kill(p, signal.SIGKILL)
    assert code == 4
    web_exit = u.first("web", "exit", "4")
    assert web_exit[3] > sent, "the main should have exited during its preStop"
    assert not u.find("web", "signal"), "no stop signal to a main that had already exited"
    proxy_sig = u.first("proxy", "signal", "15")
    assert 0 <= ms(proxy_sig[3] - web_exit[3]) < 1000, "the sidecar's turn came late"
    assert ms(u.ended_at - sent) < 3500, "usher sat out the rest of the 5s preStop"
    texts = u.log_texts()
    if hook == "exec":
        assert not u.find("hook", "exit"), "the hook should have been killed with its container"
        assert not u.find("hook", "signal"), "the hook got a catchable signal, not SIGKILL"
        assert gone, "the hook outlived its container and usher"
        hook_pid = u.first("hook", "start")[4]
        assert f"web[{u.first('web', 'start')[4]}] preStop: hook[{hook_pid}] started" in texts, texts
    assert texts[-1] == "exiting with status 4"


# --- leaving the process group ----------------------------------------------------------------

@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_a_daemon_that_double_forks_out_of_its_process_group(usher, act, pid1):
    """The main starts a daemon with `setsid -f` (a double fork into its own session and group)
    that ignores SIGTERM. The stop signal goes to the main's group, so the daemon gets none, and
    usher does not wait for it: it is no process of usher's. Then:
    - as PID 1, usher's exit ends the pid namespace, and the kernel kills the daemon;
    - as a subreaper, usher sweeps only the process groups it started: the daemon, in a group
      of its own, outlives usher (reparented upwards). This is the documented limit of the
      subreaper mode, asserted here so that a change to it is seen."""
    script = "setsid -f " + act.line("daemon", "--ignore", "TERM", "--report") + "; exec " + act.line("main")
    u = usher(["--", "sh", "-c", script], pid1=pid1)
    u.wait_started("daemon", "main")
    daemons = below(u.pid, "daemon")
    assert len(daemons) == 1, daemons
    daemon = daemons[0]
    try:
        u.wait_for(lambda: u.find("daemon", "pgid"), what="the daemon's report")
        assert u.first("daemon", "pgid")[2] == str(u.first("daemon", "start")[4]), "the daemon leads its own group"
        assert wait_until(lambda: ppid(daemon) == u.pid, 5), f"the daemon is not reparented to usher: ppid {ppid(daemon)}"
        sent = u.signal(signal.SIGTERM)
        assert u.wait() == 143
        assert ms(u.ended_at - sent) < 1500, "usher waited for a process that is not its own"
        assert not u.find("daemon", "signal"), "the daemon is outside the main's group"
        if pid1:
            assert wait_until(lambda: not alive(daemon), 5), "the daemon outlived the pid namespace"
        else:
            time.sleep(0.3)
            assert alive(daemon), "the daemon was killed: update this test and the README"
    finally:
        if alive(daemon):
            os.kill(daemon, signal.SIGKILL)


# --- output ------------------------------------------------------------------------------------

def test_children_that_close_or_redirect_their_stdout_and_stderr(usher, act, tmp_path):
    """The main closes its stdout and stderr, a sidecar redirects both to a file: usher's log on
    its own stderr is complete, and the lifecycle is unchanged."""
    out = tmp_path / "side.out"
    u = usher(["--sidecar", f"side=sh -c 'exec >{out} 2>&1; echo side-output; echo side-error >&2; exec "
               + act.line("side").replace("'", "") + "'",
               "--", "sh", "-c", "exec >&- 2>&-; exec " + act.line("main")])
    u.wait_started("side", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert open(out).read() == "side-output\nside-error\n"
    assert "side-output" not in u.stderr() and "side-error" not in u.stderr()
    texts = u.log_texts()
    side, main = u.first("side", "start")[4], u.first("main", "start")[4]
    expected = [f"side[{side}] started", f"sh[{main}] started", "received SIGTERM, shutting down (deadline in 30s)",
                f"sh[{main}] stopping with SIGTERM", f"side[{side}] stopping with SIGTERM", "exiting with status 143"]
    assert [t for t in texts if not " exited " in t] == expected, texts
    assert u.first("side", "signal", "15")[3] >= u.first("main", "exit")[3]


def test_usher_started_with_stdin_stdout_and_stderr_closed(spawn, act, events_log):
    """A PID 1 started with fds 0, 1 and 2 closed: its own descriptors take those numbers. It
    must still run the lifecycle (it cannot log), and no child may get one of usher's internal
    descriptors as its stdio."""
    fd_report = events_log + ".fds"
    script = ("exec unshare --pid --fork --mount-proc " + USHER + " --sidecar 'side=" + act.line("side") + "' -- sh -c "
              f"\"ls -l /proc/self/fd/ > {fd_report} 2>&1; exec " + act.line("main").replace("'", "") + "\" <&- >&- 2>&-")
    p = spawn(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_until(lambda: {"side", "main"} <= {e[0] for e in events(events_log) if e[1] == "start"}, 10), events(events_log)
    kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
    assert kids, "usher is not running"
    stop_and_check_order(p, int(kids[0]), events_log)
    fds = open(fd_report).read()
    assert "signalfd" not in fds and "timerfd" not in fds and "eventpoll" not in fds, fds


def test_usher_goes_on_when_the_reader_of_its_stderr_goes_away(spawn, act, events_log):
    """usher's stderr is a pipe; its reader reads the first line and exits (a log collector that
    died). Every later log line fails with EPIPE: usher must not die of SIGPIPE, and must still
    supervise: a crash-looping sidecar is restarted, and SIGTERM stops everything in order."""
    r, w = os.pipe()
    try:
        p = spawn(["unshare", "--pid", "--fork", "--mount-proc", USHER,
                   "--sidecar", "crashy=" + act.line("crashy", "--exit-after", 300, "--code", 1),
                   "--sidecar", "side=" + act.line("side"), "--", *act("main")],
                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as reader:
        first = reader.readline()
    assert b"usher: crashy[2] started" in first, first
    # The read end is closed now: nobody reads usher's log any more.
    assert wait_until(lambda: len([e for e in events(events_log) if e[0] == "crashy" and e[1] == "start"]) >= 2, 10), \
        "the crashing sidecar was not restarted"
    assert p.poll() is None, f"usher ended ({p.returncode})"
    stop_and_check_order(p, int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0]), events_log)


# --- sidecars that exit early or during the shutdown ------------------------------------------

def test_a_sidecar_that_exits_at_once_does_not_hold_up_the_startup(usher, act):
    """Sidecar a exits as soon as it starts, before usher has started b: it is restarted at once
    (then waits its back-off), and b and the main process start all the same."""
    u = usher(["--sidecar", "a=" + act.line("a", "--exit-after", 0, "--code", 1),
               "--sidecar", "b=" + act.line("b"), "--", *act("main")])
    u.wait_started("b", "main")
    u.wait_for(lambda: len(u.find("a", "start")) == 2 and len(u.find("a", "exit")) == 2, what="a twice")
    # The actor logs its exit before usher reaps it and logs the restart: wait for usher's line.
    u.wait_for(lambda: "a will be restarted in 10s (restart 2, back-off)" in u.log_texts(), what="the back-off line")
    texts = u.log_texts()
    assert "a will be restarted now (restart 1)" in texts
    assert "a will be restarted in 10s (restart 2, back-off)" in texts
    started = [t.split("[")[0] for t in texts if t.endswith(" started")]
    assert started.index("b") < started.index("actor"), started
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert [e[2] for e in u.find("b", "signal")] == ["15"]
    assert u.first("b", "signal")[3] >= u.first("main", "exit")[3]


def test_a_gated_sidecar_that_exits_before_its_startup_probe_passes(usher, act, tmp_path):
    """With -f: sidecar a is gated by a startup probe; its first run exits at once, before the
    probe could pass. It is restarted at once, its startup probe runs on the new run, and only
    then does b start, then the main container."""
    flag, ready = tmp_path / "ran-once", tmp_path / "ready"
    a_cmd = ["sh", "-c", f"if [ -e {flag} ]; then touch {ready}; exec {act.line('a')}; else touch {flag}; exit 1; fi"]
    pod = write_pod(tmp_path,
                    init=[sidecar("a", a_cmd, startupProbe=exec_probe(["test", "-e", ready], period=1, failures=10)),
                          sidecar("b", act("b"))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("a", "b", "web", timeout=15)
    u.logged_starts(4)  # a twice, b, web
    texts = u.log_texts()
    a_started = [i for i, t in enumerate(texts) if t.startswith("a[") and t.endswith(" started")]
    assert len(a_started) == 2, texts
    assert "a will be restarted now (restart 1)" in texts
    i_up = next(i for i, t in enumerate(texts) if t.startswith("a[") and "startup probe passed" in t)
    i_b = next(i for i, t in enumerate(texts) if t.startswith("b[") and t.endswith(" started"))
    i_web = next(i for i, t in enumerate(texts) if t.startswith("web[") and t.endswith(" started"))
    assert a_started[1] < i_up < i_b < i_web, texts
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@pytest.mark.parametrize("victim", ["a", "b"])
def test_a_sidecar_that_dies_during_the_shutdown(usher, act, victim):
    """While the main takes 800 ms to stop, sidecar `victim` is killed (SIGKILL from outside). It
    is not restarted (the pod is stopping); the shutdown goes on past it: the other sidecar is
    stopped in its turn, and usher exits with the main's status, well before the deadline."""
    u = usher(["--sidecar", "a=" + act.line("a"), "--sidecar", "b=" + act.line("b"),
               "--", *act("main", "--linger", 800)])
    u.wait_started("a", "b", "main")
    target = below(u.pid, victim)[0]
    sent = u.signal(signal.SIGTERM)
    u.wait_for(lambda: u.find("main", "signal"), what="the main's stop signal")
    os.kill(target, signal.SIGKILL)
    assert u.wait() == 143
    assert ms(u.ended_at - sent) < 3000
    other = "a" if victim == "b" else "b"
    assert not u.find(victim, "signal"), f"{victim} was dead before its turn"
    assert u.first(other, "signal", "15")[3] >= u.first("main", "exit")[3]
    assert len(u.find(victim, "start")) == 1, f"{victim} was restarted during the shutdown"
    texts = u.log_texts()
    vpid = u.first(victim, "start")[4]
    assert any(t.startswith(f"{victim}[{vpid}] exited with signal SIGKILL") for t in texts), texts
    assert not any("will be restarted" in t for t in texts), texts
    assert texts[-1] == "exiting with status 143"


# --- the race between the main's own exit and the stop signal ---------------------------------

def test_a_main_that_exits_just_as_the_stop_signal_arrives(usher, act):
    """20 times: the main exits by itself (status 0) 300 ms after it started, and SIGTERM is
    sent to usher within about a millisecond of that exit, before or after it (the sidecar takes
    100 ms to stop, so usher is still there). Whichever wins, usher exits promptly with the
    status the main actually ended with (0 when it exited by itself, 143 when the signal reached
    it first), after stopping the sidecar."""
    outcomes = []
    for k in range(20):
        u = usher(["--sidecar", "side=" + act.line(f"side{k}", "--linger", 100), "--", *act(f"main{k}", "--exit-after", 300)])
        u.wait_started(f"side{k}", f"main{k}")
        exit_at = u.first(f"main{k}", "start")[3] + 300_000_000
        # -3 ms .. +0.5 ms around the main's planned exit (it exits up to 1 ms early: it sleeps in
        # whole milliseconds)
        offset_ns = (k % 8 - 6) * 500_000
        while time.monotonic_ns() < exit_at + offset_ns:
            pass
        sent = u.signal(signal.SIGTERM)
        code = u.wait(timeout=10)
        main_exit = u.first(f"main{k}", "exit")
        outcomes.append((round(ms(sent - main_exit[3]), 2), int(main_exit[2]), code))
        assert code == int(main_exit[2]), (outcomes[-1], u.stderr())
        assert ms(u.ended_at - sent) < 2000, (outcomes[-1], u.stderr())
        assert [e[2] for e in u.find(f"side{k}", "signal")] == ["15"], u.stderr()
        texts = u.log_texts()
        assert texts[-1] == f"exiting with status {code}", texts
        u.cleanup()
    print("\n(SIGTERM sent - the main's exit in ms, the main's status, usher's status):", outcomes)
    close = [o for o in outcomes if abs(o[0]) <= 1]
    assert len(close) >= 3, f"too few SIGTERMs within 1 ms of the main's exit to call it a race: {outcomes}"
