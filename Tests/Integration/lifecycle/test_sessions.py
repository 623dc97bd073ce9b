"""Sessions. Without a controlling terminal (a container started without -t, a CI job, a
service), every process usher starts leads a session of its own, and so do its hooks and exec
probes, as the container runtime starts each container's process and each exec in it (runc's
nsexec calls setsid). A direct child then cannot leave its process group (a session leader's
setpgid fails), so the stop signal and the deadline's SIGKILL to its group always reach it. With
a controlling terminal (an interactive run, docker run -t), every child stays in usher's session,
where the main container can take the terminal (test_terminal.py) and any child can use it."""
import errno
import os
import signal
import time

import pytest

from conftest import controlling_terminal
from helpers.podfile import container, exec_handler, exec_probe, lifecycle, sidecar, write_pod
from helpers.proc import state
from helpers.reliability import below

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


@MODES
def test_without_a_terminal_every_process_hook_and_probe_leads_a_session_of_its_own(usher, act, tmp_path, pid1):
    """An init container, a sidecar with an exec startup probe, and a main container with an exec
    postStart hook: each reports getsid() and getpgrp() equal to its own pid."""
    pod = write_pod(
        tmp_path, restartPolicy="Never",
        init=[container("init", act("init", "--report", "--exit-after", 10)),
              sidecar("side", act("side", "--report"),
                      startupProbe=exec_probe(act("probe", "--report", "--exit-after", 10), period=1, failures=5))],
        containers=[container("main", act("main", "--report", "--exit-after", 500),
                              lifecycle=lifecycle(post_start=exec_handler(act("hook", "--report", "--exit-after", 10))))])
    u = usher(["-f", pod], pid1=pid1)
    assert u.wait(timeout=20) == 0, u.stderr()
    for name in ["init", "side", "probe", "hook", "main"]:
        sid, pgid = u.first(name, "sid"), u.first(name, "pgid")
        assert sid[2] == str(sid[4]), f"{name} (pid {sid[4]}) is in session {sid[2]}, not one of its own"
        assert pgid[2] == str(pgid[4]), f"{name} (pid {pgid[4]}) is in process group {pgid[2]}"


@MODES
def test_without_a_terminal_a_process_cannot_leave_its_group(usher, act, pid1):
    """The main tries to move into the sidecar's process group: as a session leader it cannot
    (EPERM), so it stays where usher's signals to its group reach it."""
    u = usher(["--sidecar", "side=" + act.line("side"), "--", *act("main", "--join-group-of", "side")], pid1=pid1)
    u.wait_started("side", "main")
    u.wait_for(lambda: u.find("main", "joined") or u.find("main", "join-failed"), what="the main to try to change groups")
    assert u.find("main", "join-failed", str(errno.EPERM)), f"the main changed groups: {u.find('main', 'joined')}"


@MODES
def test_with_a_controlling_terminal_every_process_stays_in_ushers_session(usher, act, pty, pid1):
    """usher's session has a terminal (not on its stdin, so nothing is handed over): the main
    and the sidecar are in usher's session (led outside the namespace as PID 1, so 0 there),
    each still in a process group of its own."""
    _, slave = pty
    u = usher(["--sidecar", "side=" + act.line("side", "--report"), "--",
               *act("main", "--report", "--exit-after", 300)], pid1=pid1, preexec_fn=controlling_terminal(slave))
    assert u.wait(timeout=20) == 0, u.stderr()
    usher_session = "0" if pid1 else str(u.pid)
    for name in ["side", "main"]:
        sid, pgid = u.first(name, "sid"), u.first(name, "pgid")
        assert sid[2] == usher_session, f"{name} is in session {sid[2]}, not usher's ({usher_session})"
        assert pgid[2] == str(pgid[4])


@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_a_forwarded_sigtstp_stops_a_default_child_only_in_ushers_session(usher, pty, terminal):
    """The trade-off the README states: a main that leaves SIGTSTP at its default (sleep) is
    stopped by the forwarded signal when it shares usher's session (a terminal), and not when it
    leads its own (the kernel drops a default stop signal to an orphaned process group); SIGSTOP
    still stops it."""
    _, slave = pty
    u = usher(["--", "sleep", "30"], pid1=False, **({"preexec_fn": controlling_terminal(slave)} if terminal else {}))
    # Until it execs, the vfork'd child is named usher with usher's command line: wait for sleep.
    u.wait_for(lambda: any(open(f"/proc/{p}/comm").read().strip() == "sleep" for p in below(u.pid, "sleep")),
               what="sleep to be started")
    child = below(u.pid, "sleep")[0]
    os.kill(u.pid, signal.SIGTSTP)
    if terminal:
        u.wait_for(lambda: state(child) == "T", timeout=5, what="the child to stop")
    else:
        time.sleep(0.5)
        assert state(child) == "S", "a forwarded SIGTSTP stopped a child in a session of its own"
        os.kill(child, signal.SIGSTOP)
        u.wait_for(lambda: state(child) == "T", timeout=5, what="SIGSTOP to stop the child")
    os.kill(child, signal.SIGCONT)
