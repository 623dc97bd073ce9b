"""Fault signals sent to usher from outside: SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and
SIGSYS sent with kill(2) or sigqueue(3) are requests like any other signal: forwarded to the main
process, and usher keeps running, as PID 1 and not. (As dumb-init does. A fault usher caused itself
must still kill it; that cannot be provoked from here.) Guards the regression where, as PID 1, the
kernel dropped them (usher left them at their default action, and init gets no default action), and,
not as PID 1, they killed usher and left its children running."""
import ctypes
import os
import signal
import time

import pytest

from helpers.proc import alive
from helpers.reliability import below, wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
FAULTS = [signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP, signal.SIGSYS]


def sigqueue(pid, sig, value=7):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.sigqueue(ctypes.c_int(pid), ctypes.c_int(sig), ctypes.c_void_p(value)) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def forwarded_and_still_running(usher, act, tmp_path, pid1, sig, send):
    # cwd: should usher dump core on the way out (as a subreaper it may), not in the tree.
    u = usher(["--sidecar", "side=" + act.line("side"), "--", *act("main")], pid1=pid1, cwd=tmp_path)
    u.wait_started("side", "main")
    left = below(u.pid, "main") + below(u.pid, "side")  # to clean up if usher dies and leaves them
    try:
        send(u.pid, sig)
        problems = []
        if not wait_until(lambda: u.find("main", "signal", str(int(sig))), 2):
            problems.append(f"the main never got {sig.name}")
        time.sleep(0.2)
        if not u.running():
            problems.append(f"usher ended (status {u.proc.returncode}) on a {sig.name} sent from outside"
                            + (", leaving its children running" if any(alive(p) for p in left) else ""))
        if u.find("side", "signal"):
            problems.append("the sidecar got a signal: forwarded signals go to the main only")
        assert not problems, "\n".join(problems) + f"\nevents: {u.events()}\nlog:\n{u.stderr()}"
        u.signal(signal.SIGTERM)
        assert u.wait() == 143
    finally:
        for p in left:
            if alive(p):
                os.kill(p, signal.SIGKILL)


@MODES
@pytest.mark.parametrize("sig", FAULTS, ids=[s.name for s in FAULTS])
def test_a_fault_signal_sent_with_kill_is_forwarded(usher, act, tmp_path, pid1, sig):
    forwarded_and_still_running(usher, act, tmp_path, pid1, sig, os.kill)


@MODES
@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT], ids=["SIGSEGV", "SIGABRT"])
def test_a_fault_signal_sent_with_sigqueue_is_forwarded(usher, act, tmp_path, pid1, sig):
    forwarded_and_still_running(usher, act, tmp_path, pid1, sig, sigqueue)
