"""The lifecycle, with dist/usher as a real PID 1 (its own pid namespace): start order, what each
child inherits, the ordered shutdown, preStop, the deadline, forwarding."""
import signal
import time

import pytest

from conftest import ms

SIDECARS = lambda act, *opts: [  # noqa: E731 - two sidecars a and b, in that order
    "--sidecar", "a=" + act.line("a", *opts), "--sidecar", "b=" + act.line("b", *opts)]


def test_start_order_and_what_each_child_inherits(usher, act):
    u = usher(SIDECARS(act, "--report") + ["--", *act("main", "--report")],
              env={"ACTOR_ENV": "from-usher"})
    u.wait_started("a", "b", "main")
    # Spawned in order: in a fresh pid namespace pids count up from 2 (usher is 1), and usher
    # logs each start as it spawns. (The children then race to their first line of output.)
    pids = [u.first(n, "start")[4] for n in ("a", "b", "main")]
    assert pids == [2, 3, 4], pids
    started = [l.split(" usher: ")[1] for l in u.log_lines() if l.endswith(" started")]
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


def test_shutdown_main_first_then_sidecars_in_reverse_each_awaited(usher, act):
    u = usher(SIDECARS(act, "--linger", 300) + ["--", *act("main", "--linger", 200)])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 128 + signal.SIGTERM
    main_sig, main_exit = u.first("main", "signal", "15"), u.first("main", "exit")
    b_sig, b_exit = u.first("b", "signal", "15"), u.first("b", "exit")
    a_sig = u.first("a", "signal", "15")
    assert sent <= main_sig[3]
    assert b_sig[3] >= main_exit[3], "b was signalled before the main process had exited"
    assert a_sig[3] >= b_exit[3], "a was signalled before b had exited"
    # Each waited for the one before: at least the lingers of main and b.
    assert ms(a_sig[3] - sent) >= 450


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_also_start_the_shutdown(usher, act, sig):
    u = usher(SIDECARS(act) + ["--", *act("main")])
    u.wait_started("a", "b", "main")
    u.signal(sig)
    assert u.wait() == 143  # the main process got the stop signal, SIGTERM
    assert u.first("main", "signal")[2] == "15"
    assert f"received {signal.Signals(sig).name}, shutting down" in u.stderr()


def test_pre_stop_delays_the_main_stop_signal(usher, act):
    u = usher(["--pre-stop", "600ms", *SIDECARS(act), "--", *act("main")])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert not u.find("main", "signal"), "the stop signal came before the preStop wait ended"
    assert u.wait() == 143
    delay = ms(u.first("main", "signal", "15")[3] - sent)
    assert 590 <= delay < 2000, delay
    assert "preStop: waiting 600ms" in u.stderr()


def test_stop_signal_flag(usher, act):
    u = usher(["--stop-signal", "SIGUSR1", "--", *act("main", "--stop-on", "USR1")])
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 128 + signal.SIGUSR1
    assert [e[2] for e in u.find("main", "signal")] == [str(int(signal.SIGUSR1))]
    pid = u.first("main", "start")[4]
    assert f"actor[{pid}] stopping with SIGUSR1" in u.stderr()


def test_environment_variables_and_flags_win(usher, act):
    env = {"USHER_STOP_SIGNAL": "INT", "USHER_PRE_STOP": "400ms", "USHER_GRACE": "30s"}
    u = usher(["--", *act("main")], env=env)
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 128 + signal.SIGINT
    assert ms(u.first("main", "signal", str(int(signal.SIGINT)))[3] - sent) >= 390
    # The flags override every variable.
    v = usher(["--stop-signal", "TERM", "--pre-stop", "0", "--grace", "1s", "--", *act("main2", "--ignore", "TERM")],
              env={**env, "USHER_GRACE": "60s"})
    v.wait_started("main2")
    sent = v.signal(signal.SIGTERM)
    assert v.wait() == 137
    assert 900 <= ms(v.ended_at - sent) < 5000


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT])
def test_other_signals_are_forwarded_to_the_main_process_only(usher, act, sig):
    u = usher(SIDECARS(act) + ["--", *act("main")])
    u.wait_started("a", "b", "main")
    u.signal(sig)
    u.wait_for(lambda: u.find("main", "signal", str(int(sig))), what=f"main to get {sig.name}")
    time.sleep(0.2)
    assert u.running(), "a forwarded signal must not stop usher"
    assert not u.find("a", "signal") and not u.find("b", "signal"), "sidecars must not get it"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_main_exiting_by_itself_stops_sidecars_in_reverse_and_keeps_its_status(usher, act):
    u = usher(SIDECARS(act, "--linger", 100) + ["--", *act("main", "--exit-after", 400, "--code", 3)])
    assert u.wait() == 3
    main_exit = u.first("main", "exit")
    b_sig, b_exit, a_sig = u.first("b", "signal", "15"), u.first("b", "exit"), u.first("a", "signal", "15")
    assert main_exit[3] <= b_sig[3] and b_exit[3] <= a_sig[3]
    assert "exiting with status 3" in u.stderr()


def test_a_sidecar_exiting_while_main_runs_is_logged_and_nothing_stops(usher, act):
    u = usher(["--sidecar", "a=" + act.line("a", "--exit-after", 100, "--code", 4), "--", *act("main")])
    u.wait_for(lambda: u.find("a", "exit"), what="sidecar a to exit")
    u.wait_for(lambda: "exited with status 4" in u.stderr(), what="usher to log it")
    time.sleep(0.3)
    assert u.running() and not u.find("main", "signal")
    pid = u.first("a", "start")[4]
    assert f"a[{pid}] exited with status 4 after running" in u.stderr()
    assert "the main process keeps running" in u.stderr()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_main_ignoring_sigterm_is_killed_at_the_deadline(usher, act):
    u = usher(["--grace", "1s", *SIDECARS(act), "--", *act("main", "--ignore", "TERM")])
    u.wait_started("a", "b", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    took = ms(u.ended_at - sent)
    assert 950 <= took < 4000, took
    err = u.stderr()
    assert "still running at the deadline: SIGKILL" in err
    assert not u.find("main", "exit"), "the main process should have been killed, not exit"


def test_sidecar_ignoring_sigterm_is_killed_at_the_deadline_and_main_status_is_kept(usher, act):
    u = usher(["--grace", "1s", "--sidecar", "a=" + act.line("a", "--ignore", "TERM"),
               "--", *act("main", "--code", 0)])
    u.wait_started("a", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 0
    assert 950 <= ms(u.ended_at - sent) < 4000
    pid = u.first("a", "start")[4]
    assert f"a[{pid}] still running at the deadline: SIGKILL" in u.stderr()


def test_a_shells_background_child_gets_the_stop_signal(usher, act):
    script = " ".join(act.line("bg")) if False else act.line("bg") + " & wait"
    u = usher(["--", "sh", "-c", script])
    u.wait_started("bg")
    u.signal(signal.SIGTERM)
    u.wait_for(lambda: u.find("bg", "signal", "15"), what="the background child to get SIGTERM")
    u.wait()


def test_orphaned_grandchildren_are_reaped_as_pid1(usher, act):
    u = usher(["--", *act("main", "--orphans", 20, "--orphan-ms", 200)])
    u.wait_for(lambda: len(u.find("main-orphan", "x")) >= 0 and len([e for e in u.events() if e[1] == "orphan-exit"]) == 20,
               what="20 orphans to exit")
    ppids = {e[2] for e in u.events() if e[1] == "orphan-ppid"}
    assert ppids == {"1"}, f"orphans should be reparented to usher as PID 1, got {ppids}"
    u.wait_for(lambda: "Z" not in u.children_states().values(), timeout=5, what="no zombie left")
    time.sleep(0.2)
    states = u.children_states()
    assert list(states.values()).count("Z") == 0, states
    assert len(states) == 1, f"only the main process should remain, got {states}"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
