"""--prefix when usher's own output cannot keep up: a stdout or stderr pipe that nobody reads, and a
child that writes faster than usher can label and copy. usher must go on serving signals and timers:
the stop signal at once, SIGKILL at the deadline, an exit near the deadline. The children that feed
a full destination block (backpressure) instead of losing their output: once the destination is read
again, every line arrives, in order."""
import os
import signal
import time

import pytest

from conftest import ms
from helpers.deadline import stop_then_deadline
from helpers.pipes import Drain, wait_full, wchan
from helpers.proc import state
from helpers.reliability import wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
STREAMS = pytest.mark.parametrize("stream", ["stdout", "stderr"])


def unread_pipe(stream):
    """(read end, usher's stdout and stderr overrides) for a pipe on `stream` that nobody reads."""
    r, w = os.pipe()
    return r, w, ({"stdout": w} if stream == "stdout" else {"stderr": w})


# --- a destination that nobody reads ----------------------------------------------------------

@MODES
@STREAMS
def test_a_full_destination_holds_up_neither_signals_nor_the_deadline(usher, act, stream, pid1):
    """The main writes 20,000 lines to `stream`, catches SIGTERM and goes on running; usher's
    `stream` is a pipe that nobody reads, so it fills up. While it is full, a SIGUSR1 to usher
    is forwarded to the main; SIGTERM reaches the main at once; the deadline's SIGKILL comes on
    time (--grace 2s) and usher exits near it (status 137), without waiting for the pipe.
    Guards the regression where usher blocked in write() on the full pipe (wchan
    anon_pipe_write) and did none of it."""
    flag = "--out-lines" if stream == "stdout" else "--err-lines"
    r, w, io = unread_pipe(stream)
    try:
        u = usher(["--prefix", "--grace", "2s", "--", *act("main", "--catch", "TERM", flag, 20000)], pid1=pid1, **io)
    finally:
        os.close(w)
    try:
        u.wait_started("main")
        wait_full(r, u)
        assert not u.find("main", "wrote-" + stream[3:]), "the main wrote everything: the pipe was not full"
        problems = []  # every broken promise of this run, not only the first
        usr1 = str(int(signal.SIGUSR1))
        u.signal(signal.SIGUSR1)
        if not wait_until(lambda: u.find("main", "signal", usr1), 2):
            problems.append("SIGUSR1 to usher was not forwarded to the main within 2 s")
        problems += stop_then_deadline(u, stuck=lambda: f"wchan {wchan(u.pid)!r}")[0]
        if u.find("main", "exit"):
            problems.append("the main exited by itself: it should have been killed at the deadline")
        assert not problems, "\n".join(problems) + f"\nevents: {u.events()}\nlog:\n{u.stderr()}"
    finally:
        os.close(r)


@MODES
@STREAMS
def test_the_writers_of_a_full_destination_wait_and_lose_nothing(usher, act, stream, pid1):
    """Backpressure, not loss: the main writes 20,000 numbered lines to each of stdout and
    stderr; usher's `stream` is a pipe that the test does not read at first, the other a file.
    While the pipe is full, the main's writer for it is held up (it has not finished); once the
    test reads the pipe, every line arrives labelled, intact and in order, on both streams."""
    r, w, io = unread_pipe(stream)
    other = {"stdout_file": True} if stream == "stderr" else {}
    try:
        u = usher(["--prefix", "--", *act("main", "--out-lines", 20000, "--err-lines", 20000)], pid1=pid1, **io, **other)
    finally:
        os.close(w)
    try:
        u.wait_started("main")
        wait_full(r, u)
        time.sleep(0.5)
        assert not u.find("main", "wrote-" + stream[3:]), \
            f"the main finished writing 20,000 lines into a full {stream}: its output was dropped"
        reader = Drain(r)
        u.wait_for(lambda: u.find("main", "wrote-out") and u.find("main", "wrote-err"), timeout=15,
                   what="the main to finish writing once the pipe is read")
        u.signal(signal.SIGTERM)
        assert u.wait(timeout=10) == 143
        drained = reader.lines()
    finally:
        os.close(r)
    kept = u.stdout().splitlines() if stream == "stderr" else u.stderr().splitlines()
    for name, lines in ((stream, drained), ("stdout" if stream == "stderr" else "stderr", kept)):
        word = name[3:]
        got = [l for l in lines if l.startswith("actor | main ")]
        want = [f"actor | main {word} {i:06d}" for i in range(1, 20001)]
        assert got == want, (f"{name}: {len(got)} labelled lines of 20000; first difference at "
                             f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}")


# --- a child that writes as fast as it can ----------------------------------------------------

@MODES
@pytest.mark.parametrize("kind", ["nl", "y"], ids=["newline-blocks", "yes-lines"])
def test_a_flooding_child_does_not_starve_the_loop(usher, act, kind, pid1):
    """The main writes 64 KiB blocks (of newlines, or of "y\\n" as `yes` does) as fast as it
    can and catches SIGTERM; usher's stdout is /dev/null. Three runs: in each the stop signal
    reaches the main at once, and usher exits within a second of the 2 s deadline. Guards the
    regression where usher copied until the pipe was empty, which it never is, and did not come
    back to its signals or its timer (runs still going at 12-20 s)."""
    for run in range(3):
        name = f"main{run}"
        u = usher(["--prefix", "--grace", "2s", "--", *act(name, "--catch", "TERM", "--flood", kind)], pid1=pid1)
        u.wait_started(name)
        time.sleep(0.3)  # the flood is under way
        sent = u.signal(signal.SIGTERM)
        try:
            u.wait(timeout=8)
        except Exception:
            raise AssertionError(f"run {run}: usher still running 8 s after SIGTERM with --grace 2s "
                                 f"(state {state(u.pid)}); main's signals: {u.find(name, 'signal')}") from None
        took = ms(u.ended_at - sent)
        got = u.find(name, "signal", "15")
        assert got and ms(got[0][3] - sent) < 1000, f"run {run}: the stop signal did not reach the main at once: {got}"
        assert 1950 <= took < 3000, f"run {run}: usher exited {took:.0f} ms after SIGTERM with --grace 2s"
        assert u.returncode == 137, u.returncode
        u.cleanup()
