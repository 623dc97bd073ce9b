"""A process usher started that leaves its own process group. usher sends the stop signal and the
deadline's SIGKILL to each child's process group; a child that moved to another group of the session
(setpgid into usher's group, or into a sidecar's) is in none of them. It must still get its stop
signal, and SIGKILL at the deadline: the deadline reaches every tracked process, in its group or
not, and usher exits near it. A child can only do that when usher's session has a controlling
terminal, so each run here has one: without, every child leads a session of its own and cannot
change groups (test_sessions.py)."""
import os
import signal

import pytest

from conftest import controlling_terminal, ms, with_controlling_terminal
from helpers.deadline import stop_then_deadline
from helpers.proc import alive
from helpers.reliability import below, wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


@MODES
@pytest.mark.parametrize("into", ["usher", "sidecar"])
def test_a_main_that_left_its_group_still_gets_its_stop_signal_and_the_deadline(usher, act, pty, into, pid1):
    """The main catches SIGTERM (and goes on running) and moves into another process group of
    the session: usher's own ("usher"; as PID 1 usher is made a session leader inside its
    namespace, so that its group is visible there) or the sidecar's ("sidecar"). SIGTERM to usher: the main gets
    its stop signal at once, the sidecar none before the main is gone or the stop window (300 ms
    before the deadline, --min-stop-window: the default 2 s would leave no turn to wait for),
    and at the 2 s deadline the main is killed and usher exits (137). Guards the regression
    where both signals went to the main's old group, by then empty: the main got neither, the
    log said SIGKILL all the same, and usher waited for ever ("usher"), or the main died only
    with the sidecar's group at the deadline without ever getting its stop signal ("sidecar")."""
    _, slave = pty
    terminal = ({"wrap": with_controlling_terminal(slave), "pass_fds": (slave,)} if pid1 and into == "usher"
                else {"preexec_fn": controlling_terminal(slave)})
    u = usher(["--grace", "2s", "--min-stop-window", "300ms", "--sidecar", "side=" + act.line("side"),
               "--", *act("main", "--catch", "TERM", "--join-group-of", "usher" if into == "usher" else "side")],
              pid1=pid1, **terminal)
    u.wait_started("side", "main")
    u.wait_for(lambda: u.find("main", "joined") or u.find("main", "join-failed"), what="the main to change groups")
    main_pid = u.first("main", "start")[4]
    joined = u.find("main", "joined")
    assert joined and joined[0][2] != str(main_pid), f"setup: the main did not leave its group: {u.find('main', 'join-failed')}"
    if into == "sidecar":
        assert joined[0][2] == str(u.first("side", "start")[4])
    main = below(u.pid, "main")  # its pid as seen from here
    try:
        problems, sent = stop_then_deadline(u, within_ms=4000,
                                            stuck=lambda: "main " + ("alive" if main and alive(main[0]) else "gone"))
        early = [e for e in u.find("side", "signal") if ms(e[3] - sent) < 1650]
        if early:
            problems.append(f"the sidecar got a signal while the main was still running, before the stop window: {early}")
        if main and not wait_until(lambda: not alive(main[0]), 2):
            problems.append("the main outlived usher")
        assert not problems, "\n".join(problems) + "\nlog:\n" + "\n".join(u.log_texts())
    finally:
        for p in main:
            if alive(p):
                os.kill(p, signal.SIGKILL)
