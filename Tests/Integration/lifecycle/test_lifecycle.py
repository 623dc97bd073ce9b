"""The lifecycle, with dist/usher as a real PID 1 (its own pid namespace): start order, what each
child inherits, the ordered shutdown, preStop, the deadline, forwarding, reaping."""
import os
import signal
import subprocess
import time

import pytest

from conftest import USHER, ms

SIDECARS = lambda act, *opts: [  # noqa: E731 - two sidecars a and b, in that order
    "--sidecar", "a=" + act.line("a", *opts), "--sidecar", "b=" + act.line("b", *opts)]


# --- start ------------------------------------------------------------------------------------

def test_start_order_and_what_each_child_inherits(usher, act):
    u = usher(SIDECARS(act, "--report") + ["--", *act("main", "--report")],
              env={"ACTOR_ENV": "from-usher"})
    u.wait_started("a", "b", "main")
    # Spawned in order: in a fresh pid namespace pids count up from 2 (usher is 1), and usher
    # logs each start as it spawns. (The children then race to their first line of output.)
    pids = [u.first(n, "start")[4] for n in ("a", "b", "main")]
    assert pids == [2, 3, 4], pids
    started = u.logged_starts(3)
    assert started == ["a[2] started", "b[3] started", "actor[4] started"], started
    for name in ("a", "b", "main"):
        pid = u.first(name, "start")[4]
        assert u.first(name, "pgid")[2] == str(pid), f"{name} leads its own process group"
        assert int(u.first(name, "sigblk")[2], 16) == 0, f"{name} inherited a blocked signal"
        assert int(u.first(name, "sigign")[2], 16) == 0, f"{name} inherited an ignored signal"
        assert u.first(name, "env")[2] == "from-usher", f"{name} did not get usher's environment"
        assert u.first(name, "ppid")[2] == "1", f"{name} is a child of usher as PID 1"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- the ordered shutdown -----------------------------------------------------------------------

def test_shutdown_main_first_then_sidecars_in_reverse_each_awaited(usher, act):
    u = usher(SIDECARS(act, "--linger", 300) + ["--", *act("main", "--linger", 200)])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 128 + signal.SIGTERM
    main_sig, main_exit = u.first("main", "signal", "15"), u.first("main", "exit")
    b_sig, b_exit = u.first("b", "signal", "15"), u.first("b", "exit")
    a_sig, a_exit = u.first("a", "signal", "15"), u.first("a", "exit")
    assert sent <= main_sig[3]
    assert b_sig[3] >= main_exit[3], "b was signalled before the main process had exited"
    assert a_sig[3] >= b_exit[3], "a was signalled before b had exited"
    # Each waited for the one before: at least the lingers of main and b.
    assert ms(a_sig[3] - sent) >= 450
    assert u.ended_at >= a_exit[3], "usher exited before its last sidecar"
    assert main_exit[2] == "143" and b_exit[2] == "143" and a_exit[2] == "143"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_also_start_the_shutdown(usher, act, sig):
    u = usher(SIDECARS(act) + ["--", *act("main")])
    u.wait_started("a", "b", "main")
    u.signal(sig)
    assert u.wait() == 143  # the main process got the stop signal, SIGTERM
    assert u.first("main", "signal")[2] == "15"
    assert u.first("b", "signal")[2] == "15" and u.first("a", "signal")[2] == "15"
    assert f"received {signal.Signals(sig).name}, shutting down" in u.stderr()


def test_pre_stop_delays_the_main_stop_signal(usher, act):
    u = usher(["--pre-stop", "600ms", *SIDECARS(act), "--", *act("main")])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert not u.find("main", "signal"), "the stop signal came before the preStop wait ended"
    assert not u.find("a", "signal") and not u.find("b", "signal"), "sidecars stop after main"
    assert u.wait() == 143
    delay = ms(u.first("main", "signal", "15")[3] - sent)
    assert 590 <= delay < 1500, delay
    main = u.first("main", "start")[4]
    assert f"actor[{main}] preStop: waiting 600ms before its stop signal" in u.log_texts()


@pytest.mark.parametrize("flag, sig, actor_opts", [
    ("SIGUSR1", signal.SIGUSR1, ["--stop-on", "USR1"]),
    ("INT", signal.SIGINT, []),
    ("12", signal.SIGUSR2, ["--stop-on", "USR2"]),
])
def test_stop_signal_flag_is_what_the_main_process_gets(usher, act, flag, sig, actor_opts):
    u = usher(["--stop-signal", flag, *SIDECARS(act), "--", *act("main", *actor_opts)])
    u.wait_started("a", "b", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 128 + sig
    assert [e[2] for e in u.find("main", "signal")] == [str(int(sig))]
    # Sidecars always get SIGTERM.
    assert [e[2] for e in u.find("b", "signal")] == ["15"]
    pid = u.first("main", "start")[4]
    assert f"actor[{pid}] stopping with {sig.name}" in u.log_texts()


def test_environment_variables_set_stop_signal_pre_stop_and_grace(usher, act):
    # A grace no longer than the stop window (2s by default) would send the stop signal at
    # once, with no preStop: USHER_MIN_STOP_WINDOW makes room for the 400ms preStop.
    env = {"USHER_STOP_SIGNAL": "INT", "USHER_PRE_STOP": "400ms", "USHER_GRACE": "1500ms",
           "USHER_MIN_STOP_WINDOW": "300ms"}
    # The main process logs SIGINT and lingers past the deadline.
    u = usher(["--", *act("main", "--linger", 8000)], env=env)
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    got = u.find("main", "signal")
    assert [e[2] for e in got] == [str(int(signal.SIGINT))], "USHER_STOP_SIGNAL was not used"
    assert 390 <= ms(got[0][3] - sent) < 1400, "USHER_PRE_STOP was not used"
    assert 1450 <= ms(u.ended_at - sent) < 3000, "USHER_GRACE was not used"
    assert "received SIGTERM, shutting down (deadline in 1.500s)" in u.log_texts()
    assert not any("stop window" in t for t in u.log_texts()), "USHER_MIN_STOP_WINDOW was not used"


def test_flags_win_over_their_environment_variables(usher, act):
    env = {"USHER_STOP_SIGNAL": "INT", "USHER_PRE_STOP": "2s", "USHER_GRACE": "60s",
           "USHER_MIN_STOP_WINDOW": "5s"}
    u = usher(["--stop-signal", "USR1", "--pre-stop", "100ms", "--grace", "1s", "--min-stop-window", "300ms",
               "--", *act("main", "--stop-on", "USR1", "--linger", 8000)], env=env)
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    got = u.find("main", "signal")
    assert [e[2] for e in got] == [str(int(signal.SIGUSR1))], "--stop-signal should win"
    assert 90 <= ms(got[0][3] - sent) < 900, "--pre-stop should win"
    assert 950 <= ms(u.ended_at - sent) < 1900, "--grace should win"
    # With the variable's 5s window the 1s grace would be shorter than the window: no preStop.
    assert not any("stop window" in t for t in u.log_texts()), "--min-stop-window should win"


def test_a_third_ctrl_c_kills_everything_at_once(usher, act):
    """Two SIGINTs change nothing (the preStop wait and the deadline stand); the third one is the
    user insisting, as compose tools take it: SIGKILL to everything now."""
    u = usher(["--pre-stop", "5s", "--grace", "20s", *SIDECARS(act), "--", *act("main")])
    u.wait_started("a", "b", "main")
    u.signal(signal.SIGINT)
    time.sleep(0.2)
    u.signal(signal.SIGINT)
    time.sleep(0.3)
    assert u.running() and not u.find("main", "signal"), "a second Ctrl-C must change nothing"
    sent = u.signal(signal.SIGINT)
    assert u.wait(timeout=5) == 137
    assert ms(u.ended_at - sent) < 1500
    assert not u.find("main", "signal"), "no stop signal: the kill came first"
    texts = u.log_texts()
    assert "received SIGINT 3 times: SIGKILL to everything now" in texts, texts
    main = u.first("main", "start")[4]
    assert f"actor[{main}] killed: SIGKILL" in texts


def test_a_repeated_stop_request_neither_restarts_pre_stop_nor_moves_the_deadline(usher, act):
    # --min-stop-window 300ms: with the default 2s window a 2s grace leaves no room for a preStop.
    u = usher(["--pre-stop", "1s", "--grace", "2s", "--min-stop-window", "300ms", "--", *act("main", "--linger", 8000)])
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    time.sleep(0.6)
    u.signal(signal.SIGINT)
    assert u.wait() == 137
    stop = ms(u.first("main", "signal", "15")[3] - sent)
    assert 990 <= stop < 1500, f"the main stop signal came {stop:.0f} ms after the first SIGTERM"
    took = ms(u.ended_at - sent)
    assert 1990 <= took < 2500, f"usher ended {took:.0f} ms after the first SIGTERM"
    assert "received SIGINT again; the shutdown already under way continues" in u.log_texts()
    main = u.first("main", "start")[4]
    assert [t for t in u.log_texts() if "preStop" in t] == [f"actor[{main}] preStop: waiting 1s before its stop signal"]


# --- the deadline -------------------------------------------------------------------------------

def test_main_ignoring_sigterm_is_killed_at_the_deadline_with_the_sidecars(usher, act):
    """The sidecars note SIGTERM and go on running. They wait for their turn behind the main
    until the stop window (300ms before the 1s deadline), get their SIGTERM then, before their
    turn, and are killed at the deadline with the main: nobody gets SIGKILL without its stop
    signal first."""
    u = usher(["--grace", "1s", "--min-stop-window", "300ms", *SIDECARS(act, "--catch", "TERM"),
               "--", *act("main", "--ignore", "TERM")])
    u.wait_started("a", "b", "main")
    pids = {n: u.first(n, "start")[4] for n in ("a", "b", "main")}
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 950 <= took < 2500, took
    texts = u.log_texts()
    assert f"actor[{pids['main']}] still running at the deadline: SIGKILL" in texts
    # The sidecars were still waiting for their turn: the stop window gave them their stop
    # signal 300ms before the deadline, and they are killed at the same deadline.
    assert f"a[{pids['a']}] still running at the deadline: SIGKILL" in texts
    assert f"b[{pids['b']}] still running at the deadline: SIGKILL" in texts
    assert not u.find("main", "exit"), "the main process should have been killed, not exit"
    for n in ("a", "b"):
        got = u.find(n, "signal")
        assert [e[2] for e in got] == ["15"], f"{n}: {got}"
        assert 600 <= ms(got[0][3] - sent) < 1000, f"{n} got SIGTERM {ms(got[0][3] - sent):.0f} ms after the stop request"
        assert any(t.startswith(f"{n}[{pids[n]}] stopping with SIGTERM") and "stop window" in t for t in texts), texts
    assert texts[-1] == "exiting with status 137"


def test_the_deadline_counts_from_the_stop_request_and_includes_pre_stop(usher, act):
    # If it counted from the main process's stop signal, usher would end at 1.8 s, not 1.2 s.
    # --min-stop-window 300ms: with the default 2s window a 1.2s grace leaves no room for a preStop.
    u = usher(["--pre-stop", "600ms", "--grace", "1200ms", "--min-stop-window", "300ms",
               "--", *act("main", "--linger", 8000)])
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    assert ms(u.first("main", "signal", "15")[3] - sent) >= 590
    took = ms(u.ended_at - sent)
    assert 1150 <= took < 1650, took


def test_sidecar_ignoring_sigterm_is_killed_at_the_deadline_and_main_status_is_kept(usher, act):
    u = usher(["--grace", "1s", "--sidecar", "a=" + act.line("a", "--ignore", "TERM"),
               "--", *act("main", "--code", 0)])
    u.wait_started("a", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 0
    assert 950 <= ms(u.ended_at - sent) < 2500
    pid = u.first("a", "start")[4]
    assert f"a[{pid}] still running at the deadline: SIGKILL" in u.log_texts()
    assert f"a[{pid}] exited with signal SIGKILL" in u.stderr()
    assert u.log_texts()[-1] == "exiting with status 0"


# --- the main process or a sidecar ending by itself ---------------------------------------------

def test_main_exiting_by_itself_stops_sidecars_in_reverse_and_keeps_its_status(usher, act):
    u = usher(SIDECARS(act, "--linger", 100) + ["--", *act("main", "--exit-after", 400, "--code", 3)])
    assert u.wait() == 3
    main_exit = u.first("main", "exit", "3")
    b_sig, b_exit, a_sig = u.first("b", "signal", "15"), u.first("b", "exit"), u.first("a", "signal", "15")
    assert main_exit[3] <= b_sig[3] and b_exit[3] <= a_sig[3]
    assert not u.find("main", "signal"), "the main process exited by itself"
    assert u.log_texts()[-1] == "exiting with status 3"


def test_after_main_exits_by_itself_the_deadline_counts_from_that_exit(usher, act):
    u = usher(["--grace", "800ms", "--sidecar", "a=" + act.line("a", "--ignore", "TERM"),
               "--", *act("main", "--exit-after", 300, "--code", 5)])
    assert u.wait() == 5
    after = ms(u.ended_at - u.first("main", "exit")[3])
    assert 750 <= after < 1500, after
    pid = u.first("a", "start")[4]
    assert f"a[{pid}] still running at the deadline: SIGKILL" in u.log_texts()


def test_a_sidecar_exiting_while_main_runs_is_restarted_and_nothing_stops(usher, act):
    """--sidecar is a Kubernetes sidecar (restartPolicy: Always): the kubelet restarts it at once
    the first time, then after 10s of back-off."""
    u = usher(["--sidecar", "a=" + act.line("a", "--exit-after", 100, "--code", 4),
               "--sidecar", "b=" + act.line("b"), "--", *act("main")])
    u.wait_for(lambda: len(u.find("a", "exit")) >= 2, what="sidecar a to exit twice")
    u.wait_for(lambda: "will be restarted in 10s (restart 2, back-off)" in u.stderr(), what="the back-off")
    time.sleep(0.3)
    assert u.running() and not u.find("main", "signal") and not u.find("b", "signal")
    assert len(u.find("a", "start")) == 2, "restarted once at once, then waiting"
    first = u.find("a", "start")[0][4]
    texts = u.log_texts()
    line = next(t for t in texts if t.startswith(f"a[{first}] exited"))
    assert line.startswith(f"a[{first}] exited with status 4 after running "), line
    assert "a will be restarted now (restart 1)" in texts
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert [e[2] for e in u.find("b", "signal")] == ["15"]
    assert not u.find("a", "signal"), "a sidecar waiting for its restart gets no stop signal"


# --- signals other than the stop requests ------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT])
def test_other_signals_are_forwarded_to_the_main_process_only(usher, act, sig):
    u = usher(SIDECARS(act) + ["--", *act("main")])
    u.wait_started("a", "b", "main")
    u.signal(sig)
    u.wait_for(lambda: u.find("main", "signal", str(int(sig))), what=f"main to get {sig.name}")
    time.sleep(0.2)
    assert u.running(), "a forwarded signal must not stop usher"
    assert not u.find("a", "signal") and not u.find("b", "signal"), "sidecars must not get it"
    assert [e[2] for e in u.find("main", "signal")] == [str(int(sig))]
    assert not any(t.startswith("received") for t in u.log_texts()), "forwarding starts nothing"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_forwarded_signals_go_to_the_main_process_not_its_group(usher, act, tmp_path):
    mark = tmp_path / "hup"
    # The shell notes SIGHUP and goes on waiting; its background child is in its group.
    script = (f"trap 'echo hup >> {mark}' HUP; " + act.line("bg") + " & pid=$!; "
              "while kill -0 $pid 2>/dev/null; do wait $pid; done")
    u = usher(["--", "sh", "-c", script])
    u.wait_started("bg")
    u.signal(signal.SIGHUP)
    u.wait_for(lambda: mark.exists(), what="the shell to get SIGHUP")
    time.sleep(0.3)
    assert not u.find("bg", "signal"), "a forwarded signal must reach the main process only"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# SIGTTIN, SIGTTOU and SIGPIPE are ignored by usher. They must not be blocked as well: the kernel
# never discards a blocked signal as ignored, so usher would read them from its signalfd and
# forward them (a closed stderr would then kill the main process with usher's own SIGPIPE).
@pytest.mark.parametrize("sig", [signal.SIGPIPE, signal.SIGTTIN, signal.SIGTTOU])
def test_sigpipe_sigttin_sigttou_are_ignored_not_forwarded(usher, act, sig):
    u = usher(["--", *act("main")])
    u.wait_started("main")
    u.signal(sig)
    time.sleep(0.2)
    u.signal(signal.SIGUSR1)  # a marker: forwarded after the signal under test was handled
    u.wait_for(lambda: u.find("main", "signal", str(int(signal.SIGUSR1))), what="main to get SIGUSR1")
    time.sleep(0.1)
    assert not u.find("main", "signal", str(int(sig))), f"usher forwarded {sig.name} to the main process"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_a_closed_stderr_does_not_reach_the_main_process(spawn, act, events_log):
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads usher's log: every write fails with EPIPE
    try:
        p = spawn([USHER, "--sidecar", "side=" + act.line("side"), "--", *act("main")],
                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=write_end)
    finally:
        os.close(write_end)
    time.sleep(0.6)
    events = open(events_log).read() if os.path.exists(events_log) else ""
    assert p.poll() is None, f"usher exited with {p.returncode} at once; events:\n{events}"
    lines = events.splitlines()
    assert any(l.startswith("main start ") for l in lines), events
    assert not any(l.startswith("main signal 13 ") for l in lines), \
        "the main process got the SIGPIPE of usher's own log write"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 143


# --- a shell as the main process ---------------------------------------------------------------

def test_a_shells_background_child_gets_the_stop_signal(usher, act):
    # The shell ignores SIGTERM and waits for its background child, so only a stop signal sent
    # to the whole process group can end it before the deadline; its status is then the child's.
    script = "trap '' TERM; " + act.line("bg") + " & wait $!; exit $?"
    u = usher(["--grace", "3s", "--", "sh", "-c", script])
    u.wait_started("bg")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()
    assert ms(u.first("bg", "signal", "15")[3] - sent) < 1500
    assert "still running at the deadline" not in u.stderr()


# --- reaping as PID 1 ---------------------------------------------------------------------------

def test_orphaned_grandchildren_are_reaped_as_pid1(usher, act):
    u = usher(["--", *act("main", "--orphans", 20, "--orphan-ms", 200)])
    u.wait_for(lambda: len([e for e in u.events() if e[1] == "orphan-exit"]) == 20, what="20 orphans to exit")
    ppids = {e[2] for e in u.events() if e[1] == "orphan-ppid"}
    assert ppids == {"1"}, f"orphans should be reparented to usher as PID 1, got {ppids}"
    # An orphan that has exited stays listed as a zombie (Z) until usher reaps it.
    u.wait_for(lambda: list(u.children_states().values()) in (["S"], ["R"]), timeout=5,
               what="every orphan reaped, only the main process left")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_no_zombie_is_left_in_the_namespace_seen_from_inside(usher, act):
    # The main process is a shell inside the namespace: it makes 5 orphans, gives them time to
    # exit, then counts the zombies in its own /proc and exits with that count.
    script = (act.line("m", "--orphans", 5, "--orphan-ms", 100, "--exit-after", 0) + "; sleep 0.8; "
              "exit $(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ')")
    u = usher(["--", "sh", "-c", script])
    code = u.wait()
    assert len([e for e in u.events() if e[1] == "orphan-exit"]) == 5, u.events()
    assert {e[2] for e in u.events() if e[1] == "orphan-ppid"} == {"1"}
    assert code == 0, f"{code} zombies were left in the namespace"
