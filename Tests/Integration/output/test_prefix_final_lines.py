"""--prefix at the end of a run: the last lines every child writes just before it exits, on stdout
and stderr, with or without a final newline, all come out labelled; and a preStop exec hook's output
is labelled with its container's name."""
import os
import re
import signal

import pytest

from helpers.podfile import container, pre_stop_exec, write_pod
from helpers.proc import alive
from helpers.reliability import wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])

# The sidecar writes its last lines when its stop signal comes (its background `sleep`, in its
# group, holds its pipes until that same signal ends it too); the main waits until the sidecar
# has set its trap (the file UP), writes its own last lines and exits by itself, which starts
# the shutdown.
SIDE = ("sh -c 'trap \"printf \\\"side out 1\\nside out 2\\\"; printf \\\"side err 1\\nside err 2\\\" >&2; exit 0\" TERM; "
        "echo side-up; touch UP; sleep 100 & wait'")
MAIN = ('while [ ! -e UP ]; do sleep 0.02; done; '
        'printf "main out 1\\nmain out 2"; printf "main err 1\\nmain err 2\\n" >&2; exit 3')


@MODES
def test_every_last_line_comes_out_labelled(usher, tmp_path, pid1):
    """Five runs: the 8 last lines (two of them without a newline) of the main and the sidecar
    are all there, labelled, in order within each stream. Here each exited child's pipes are
    drained when it is reaped, so this run cannot see the final flush's regression (the stream
    after one at its end of file skipped); the SIGSTOP tests below can, and do."""
    for run in range(5):
        here = tmp_path / f"run{run}"  # where the sidecar leaves UP
        here.mkdir()
        u = usher(["--prefix", "--sidecar", "side=" + SIDE, "--", "sh", "-c", MAIN], pid1=pid1, stdout_file=True,
                  cwd=str(here))
        assert u.wait(timeout=10) == 3, u.stderr()
        out, err = u.stdout().splitlines(), u.stderr().splitlines()
        problems = []
        for lines, want in ((out, ["sh   | main out 1", "sh   | main out 2"]),
                            (out, ["side | side-up", "side | side out 1", "side | side out 2"]),
                            (err, ["sh   | main err 1", "sh   | main err 2"]),
                            (err, ["side | side err 1", "side | side err 2"])):
            label = want[0][:7]
            got = [l for l in lines if l.startswith(label) and "Terminated" not in l]
            if got != want:
                problems.append(f"{want[0].split(' | ')[0]}: {got}, expected {want}")
        assert not problems, f"run {run}:\n" + "\n".join(problems) + f"\nstdout:\n{u.stdout()}\nstderr:\n{u.stderr()}"
        u.cleanup()


@MODES
def test_pre_stop_hook_output_is_labelled_with_its_container(usher, act, tmp_path, pid1):
    """A main container's preStop exec hook writes a line to stdout and one (without a newline)
    to stderr: under --prefix both are labelled with the container's name, like the
    container's own output. Guards the regression where the hook wrote straight to usher's
    stdout and stderr, unlabelled."""
    hook = ["sh", "-c", "echo hook-out; printf hook-err >&2"]
    pod = write_pod(tmp_path, containers=[container("web", ["sh", "-c", "echo web-up; " + act.line("web")],
                                                    lifecycle=pre_stop_exec(hook))])
    u = usher(["--prefix", "-f", pod], pid1=pid1, stdout_file=True)
    u.wait_started("web")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=10) == 143
    out, err = u.stdout().splitlines(), u.stderr().splitlines()
    assert "web | web-up" in out, out  # the container's own output, for comparison
    assert any(re.fullmatch(r"web\s*\| hook-out", l) for l in out), f"hook's stdout not labelled: {out}"
    assert any(re.fullmatch(r"web\s*\| hook-err", l) for l in err), f"hook's stderr not labelled: {err}"
    assert "hook-out" not in out and "hook-err" not in err


# --- what usher finds in the pipes when it wakes up to a death ---------------------------------
# usher copies at most 4 KiB from each pipe per wake-up (so that a flooding child cannot keep it
# from its signals). Stopping usher (SIGSTOP) while children write more than that and exit makes
# the next wake-up see their output and their deaths at once, every time: what is copied before
# the death is handled is then up to the drain at reap and the final flush, not the scheduler.

def children_of(pid):
    try:
        return [int(k) for k in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def wait_gone(pid, what):
    assert wait_until(lambda: not alive(pid), 10), f"{what} ({pid}) did not exit"


# 5,000 numbered lines (55,000 bytes: the pipe holds them all) on stderr, then exit 3.
LAST_WORDS = 'while [ ! -e GO ]; do sleep 0.01; done; seq -f "last %05g" 1 5000 >&2; exit 3'


@MODES
def test_a_childs_last_lines_come_before_the_line_that_says_it_exited(usher, tmp_path, pid1):
    """The main writes 55,000 bytes of numbered lines to stderr and exits while usher is
    stopped; usher then wakes to the lines and the death at once. Every line comes out,
    labelled and in order, before usher's `sh[N] exited with status 3`: the drain at reap
    copies what the child left in its pipes before its exit is logged. Without it (the
    regression) only the first 4 KiB come before that line and the rest after it."""
    u = usher(["--prefix", "--", "sh", "-c", LAST_WORDS], pid1=pid1, cwd=str(tmp_path))
    u.logged_starts(1)
    main = children_of(u.pid)[0]
    os.kill(u.pid, signal.SIGSTOP)
    try:
        (tmp_path / "GO").touch()
        wait_gone(main, "the main")
    finally:
        os.kill(u.pid, signal.SIGCONT)
    assert u.wait(timeout=10) == 3, u.stderr()
    err = u.stderr().splitlines()
    lines = [i for i, l in enumerate(err) if re.fullmatch(r"sh \| last \d{5}", l)]
    exited = [i for i, l in enumerate(err) if LOG_EXITED.search(l)]
    assert [err[i] for i in lines] == [f"sh | last {n:05d}" for n in range(1, 5001)], "lines lost or out of order"
    assert len(exited) == 1, err[-5:]
    after = [err[i] for i in lines if i > exited[0]]
    assert not after, (f"{len(after)} of the main's 5,000 last lines came after the line that says it "
                       f"exited ({err[exited[0]]!r}), the first: {after[0]!r}")


LOG_EXITED = re.compile(r"usher: sh\[\d+\] exited with status 3")

# The main leaves a daemon behind (a session of its own: it is not a leftover of the main's
# run) that holds the main's stdout and stderr. Once GO exists the daemon writes 1,000 numbered
# lines (10,000 bytes) to each, says DONE and exits; the sidecar ignores its stop signal and
# exits on DONE, the last of the pod.
DAEMON = ('while [ ! -e GO ]; do sleep 0.01; done; seq -f "out %05g" 1 1000; seq -f "err %05g" 1 1000 >&2; '
          'echo $$ > daemon.pid; touch DONE')
MAIN_WITH_DAEMON = f"setsid sh -c '{DAEMON}' & sleep 0.2; exit 0"
SIDE_UNTIL_DONE = "sh -c 'trap \"\" TERM; while [ ! -e DONE ]; do sleep 0.01; done'"


@MODES
def test_the_final_flush_copies_every_stream_even_after_one_at_its_end(usher, tmp_path, pid1):
    """The main has exited and the sidecar holds the pod open; usher is stopped while the
    main's daemon writes 10,000 bytes to each of the main's stdout and stderr and exits, and
    the sidecar exits after it. usher wakes to all of it at once: it copies 4 KiB of each
    pipe, reaps the sidecar and exits, so the final flush finds both of the main's streams
    holding 6,000 bytes and then their end of file. Every line of both comes out, labelled
    and in order. The regression: the final flush walked the streams forward and closed the
    stream that moved into the place of one at its end of file without reading it, so the
    main's stderr lost its last 6,000 bytes."""
    u = usher(["--prefix", "--grace", "20s", "--sidecar", "side=" + SIDE_UNTIL_DONE, "--", "sh", "-c", MAIN_WITH_DAEMON],
              pid1=pid1, stdout_file=True, cwd=str(tmp_path))
    u.wait_for(lambda: any(re.match(r"sh\[\d+\] exited with status 0\b", t) for t in u.log_texts()),
               what="the main to exit, leaving its daemon")
    u.wait_for(lambda: any(t.startswith("side[") and "stopping with SIGTERM" in t for t in u.log_texts()),
               what="the sidecar's stop signal")
    side = children_of(u.pid)
    os.kill(u.pid, signal.SIGSTOP)
    try:
        (tmp_path / "GO").touch()
        assert wait_until(lambda: (tmp_path / "DONE").exists(), 10), "the daemon never wrote"
        for pid in side:
            wait_gone(pid, "the sidecar")
    finally:
        os.kill(u.pid, signal.SIGCONT)
    assert u.wait(timeout=10) == 0, u.stderr()
    out = [l for l in u.stdout().splitlines() if re.fullmatch(r"sh   \| out \d{5}", l)]
    err = [l for l in u.stderr().splitlines() if re.fullmatch(r"sh   \| err \d{5}", l)]
    problems = []
    for name, got, word in (("stdout", out, "out"), ("stderr", err, "err")):
        want = [f"sh   | {word} {n:05d}" for n in range(1, 1001)]
        if got != want:
            problems.append(f"{name}: {len(got)} of the daemon's 1,000 lines, the last {got[-1:]}")
    assert not problems, "\n".join(problems) + "\nlog:\n" + "\n".join(u.log_texts())
