"""usher at a terminal that misbehaves or insists: its lifecycle log on a terminal that is not
taking output (a pty nobody reads, a pty stopped by XOFF) must hold up neither the stop signal nor
the deadline; and three Ctrl-C force the stop even after the first one has ended the main process
that had the terminal's foreground."""
import fcntl
import os
import signal
import subprocess
import termios
import time

import pytest

from conftest import controlling_terminal, ms
from helpers.deadline import stop_then_deadline
from helpers.pipes import wchan
from helpers.reliability import wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


def takes_output(slave):
    """True when the terminal would take one more byte now (written through a descriptor of its
    own, non-blocking, so usher's descriptor is left as it is)."""
    fd = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        os.write(fd, b".")
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def fill(slave):
    """Writes to the terminal until it takes no more (its buffer is full: nobody reads the
    master)."""
    fd = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        while True:
            os.write(fd, b"f" * 63 + b"\n")
    except BlockingIOError:
        pass
    finally:
        os.close(fd)


def read_all(master):
    """Whatever the master has to read now."""
    out = b""
    flags = fcntl.fcntl(master, fcntl.F_GETFL)
    fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            out += chunk
    except (BlockingIOError, OSError):
        pass
    fcntl.fcntl(master, fcntl.F_SETFL, flags)
    return out


# --- the log on a terminal that is not taking output -------------------------------------------

@MODES
@pytest.mark.parametrize("how", ["unread", "xoff"])
def test_a_terminal_that_takes_no_output_holds_up_neither_the_stop_nor_the_deadline(usher, act, pty, how, pid1):
    """usher's stderr is a pty: its buffer filled and nobody reading the master ("unread"), or
    output stopped by Ctrl-S with IXON on ("xoff"). The main catches SIGTERM and goes on
    running. SIGTERM to usher still reaches the main at once, the deadline's SIGKILL comes on
    time (--grace 2s), and usher exits near the deadline (status 137). Log lines may be dropped
    meanwhile. Guards the regression where the log fell back to blocking writes on a terminal
    (RWF_NOWAIT is not supported there) and usher waited in write() until the terminal was
    read or got Ctrl-Q."""
    master, slave = pty
    attrs = termios.tcgetattr(slave)
    attrs[0] |= termios.IXON
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        u = usher(["--grace", "2s", "--", *act("main", "--catch", "TERM")], pid1=pid1, stderr=slave)
        u.wait_started("main")
        time.sleep(0.2)  # the "started" line is out
        if how == "unread":
            fill(slave)
        else:
            os.write(master, b"\x13")  # Ctrl-S, as typed at the terminal
        assert wait_until(lambda: not takes_output(slave), 3), "the terminal still takes output"
        problems, _ = stop_then_deadline(u, stuck=lambda: f"wchan {wchan(u.pid)!r}")
        if u.find("main", "exit"):
            problems.append("the main exited by itself: it should have been killed at the deadline")
        assert not problems, "\n".join(problems) + f"\nevents: {u.events()}"
    finally:
        os.write(master, b"\x11")  # Ctrl-Q: let anything still writing finish
        read_all(master)


# --- three Ctrl-C after the first one ended the foreground main --------------------------------

@MODES
def test_three_ctrl_c_force_the_stop_after_the_first_ended_the_main(usher, act, pty, pid1):
    """usher at a terminal, in its foreground; the main gets the terminal and exits on SIGINT;
    a sidecar ignores SIGTERM; --grace 30s. The first Ctrl-C ends the main (status 130) and the
    sidecar gets its SIGTERM, which it ignores. Then the terminal's foreground must be taken
    back from the dead main's group, so that the next Ctrl-C reach usher: the second changes
    nothing, the third kills everything at once and usher exits within a few seconds, not 30.
    Guards the regression where the foreground stayed with the main's empty group: the two
    Ctrl-C reached nobody and usher sat out the whole grace period."""
    master, slave = pty
    u = usher(["--grace", "30s", "--sidecar", "side=" + act.line("side", "--ignore", "TERM"),
               "--", *act("main", "--report")],
              pid1=pid1, stdin=slave, preexec_fn=controlling_terminal(slave))
    u.wait_started("side", "main")
    u.wait_for(lambda: u.find("main", "tty_fg"), what="the main's report")
    assert u.first("main", "tty_fg")[2] == u.first("main", "pgid")[2], "the main should own the terminal"
    side = u.first("side", "start")[4]
    os.write(master, b"\x03")  # Ctrl-C 1: SIGINT to the foreground group, the main
    u.wait_for(lambda: u.find("main", "exit"), what="the main to exit on the first Ctrl-C")
    u.wait_for(lambda: f"side[{side}] stopping with SIGTERM" in u.log_texts(), what="the sidecar's stop signal")
    time.sleep(0.3)
    os.write(master, b"\x03")  # Ctrl-C 2
    time.sleep(0.5)
    assert u.running(), "a second Ctrl-C must not end the shutdown"
    sent = time.monotonic_ns()
    os.write(master, b"\x03")  # Ctrl-C 3: kill everything now
    try:
        code = u.wait(timeout=6)
    except subprocess.TimeoutExpired:
        raise AssertionError("usher still running 6 s after the third Ctrl-C (--grace 30s); log:\n"
                             + "\n".join(u.log_texts())) from None
    assert ms(u.ended_at - sent) < 3000, f"usher exited {ms(u.ended_at - sent):.0f} ms after the third Ctrl-C"
    assert code == 128 + signal.SIGINT, f"status {code}: the main's status is usher's"
    assert u.first("main", "exit")[2] == "130"
