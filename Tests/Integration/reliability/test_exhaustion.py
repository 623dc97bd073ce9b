"""Resource exhaustion, with dist/usher as a real PID 1: a spawn that fails with EAGAIN (the
user's process limit, RLIMIT_NPROC, reached; root is exempt from it, so usher runs as an
unprivileged uid), with EMFILE (RLIMIT_NOFILE too low for usher's own descriptors, a --prefix
pipe or a probe's socket), and a stderr pipe that nobody reads. usher says which process could
not be started and why, stops what it started in reverse, exits with a clear status, leaves
nothing behind, and never stops supervising because its log cannot be written."""
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import conftest
from conftest import USHER, Usher, ms
from helpers.podfile import container, sidecar, tcp_probe, write_pod
from helpers.proc import alive
from helpers.reliability import wait_until

UID = 54321  # a uid nothing else on the machine uses: RLIMIT_NPROC counts all of its processes


def through(monkeypatch, folder, prefix, start, args, **kw):
    """Starts usher (with `start`: the usher fixture, or Usher) as `PREFIX... usher ARGS`:
    unshare runs a wrapper script that execs the prefix command (setpriv, prlimit), which execs
    usher, so usher is still PID 1 of its namespace."""
    wrapper = os.path.join(folder, f"usher-wrapper-{time.monotonic_ns()}")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {prefix} {USHER} \"$@\"\n")
    os.chmod(wrapper, stat.S_IRWXU)
    monkeypatch.setattr(conftest, "USHER", wrapper)
    try:
        return start(args, **kw)
    finally:
        monkeypatch.setattr(conftest, "USHER", USHER)


@pytest.fixture
def unprivileged(actor, tmp_path, monkeypatch):
    """Runs usher as uid/gid 54321 with no supplementary groups, optionally under prlimit, with
    the actor copied where that uid can run it and a log it can write.
    unprivileged(args, nproc=None) -> Usher; .act(name, *options) is the actor's argv."""
    home = tempfile.mkdtemp(prefix="usher-unpriv-")
    os.chmod(home, 0o755)
    shutil.copy2(actor, os.path.join(home, "actor"))
    logs = os.path.join(home, "logs")
    os.mkdir(logs)
    os.chmod(logs, 0o777)
    log = os.path.join(logs, "events.log")
    runs = []

    def start(args, nproc=None):
        limit = f" prlimit --nproc={nproc}" if nproc else ""
        u = through(monkeypatch, home, f"setpriv --reuid={UID} --regid={UID} --clear-groups{limit}",
                    lambda a: Usher(a, log), args)
        runs.append(u)
        return u

    start.act = lambda name, *options: [os.path.join(home, "actor"), name, "--log", log, *[str(o) for o in options]]
    start.line = lambda name, *options: " ".join(start.act(name, *options))
    yield start
    for u in runs:
        u.cleanup()
    shutil.rmtree(home, ignore_errors=True)


def user_processes():
    """Live processes whose real uid is UID."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                uid = open(f"/proc/{d}/status").read().split("\nUid:\t", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(uid) == UID and alive(int(d)):
                out.append(int(d))
    return out


# --- EAGAIN --------------------------------------------------------------------------------------

def test_a_spawn_failing_with_eagain_is_reported_and_what_started_is_stopped_in_reverse(unprivileged):
    """RLIMIT_NPROC 3 for usher's uid: usher, sidecar a and sidecar b use it up, so the main
    process cannot be forked (EAGAIN). usher names it and the reason, stops b then a, exits 126,
    and no process of that uid is left."""
    assert not user_processes(), f"uid {UID} already has processes: {user_processes()}"
    run = unprivileged
    u = run(["--sidecar", "a=" + run.line("a", "--linger", 100), "--sidecar", "b=" + run.line("b", "--linger", 100),
             "--", *run.act("main")], nproc=3)
    assert u.wait(timeout=20) == 126
    texts = u.log_texts()
    assert texts[:2] == ["a[2] started", "b[3] started"], texts
    assert texts[2] == "actor could not be started: cannot start " + run.act("main")[0] + \
        " now: Resource temporarily unavailable (out of processes or memory)", texts
    stopping = [t.split("[")[0] for t in texts if " stopping with " in t]
    assert stopping == ["b", "a"], texts
    assert texts[-1] == "exiting with status 126"
    assert not u.find("main", "start")
    # b may be stopped before it has set up its handlers: then it dies of SIGTERM without a trace.
    if u.find("b", "exit") and u.find("a", "signal"):
        assert u.first("a", "signal")[3] >= u.first("b", "exit")[3], "a was stopped before b had exited"
    assert wait_until(lambda: not user_processes(), 5), f"left behind: {user_processes()}"


def test_a_sidecar_restart_failing_with_eagain_is_retried_and_the_main_keeps_running(unprivileged):
    run = unprivileged
    u = run(["--sidecar", "a=" + run.line("a", "--exit-after", 1500, "--code", 1), "--", *run.act("main")])
    u.wait_started("a", "main")
    # Now the limit: usher and the main process are all it allows (set by the same uid:
    # lowering a limit needs no privilege).
    subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                    "prlimit", "--pid", str(u.pid), "--nproc=2"], check=True)
    u.wait_for(lambda: u.find("a", "exit"), what="a to exit")
    time.sleep(1)
    texts = u.log_texts()
    failed = [t for t in texts if "could not be started" in t]
    assert failed and "Resource temporarily unavailable" in failed[0], texts
    assert u.running(), f"usher ended ({u.proc.returncode}) because a sidecar could not be restarted:\n" + "\n".join(texts)
    assert not u.find("main", "signal"), "the main process was stopped"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- EMFILE --------------------------------------------------------------------------------------

@pytest.fixture
def emfile_run(usher, tmp_path, monkeypatch):
    """emfile_run(args, nofile): usher (as root) under `prlimit --nofile=N`."""
    return lambda args, nofile: through(monkeypatch, str(tmp_path), f"prlimit --nofile={nofile}", usher, args)


def test_emfile_for_a_prefix_pipe_is_reported_and_what_started_is_stopped_in_reverse(emfile_run, act):
    """With --prefix, each process needs pipes for its output. RLIMIT_NOFILE 13 leaves room for
    usher's own descriptors and the pipes of a and b, not of the main: usher names it and
    the reason (pipe2: EMFILE), stops b then a, exits 126; nothing is left."""
    u = emfile_run(["--prefix", "--sidecar", "a=" + act.line("a"), "--sidecar", "b=" + act.line("b"),
                           "--", *act("main")], 13)
    assert u.wait(timeout=20) == 126
    texts = u.log_texts()
    assert texts[:2] == ["a[2] started", "b[3] started"], texts
    assert texts[2] == "actor could not be started: cannot prefix its output: pipe2: Too many open files", texts
    assert [t.split("[")[0] for t in texts if " stopping with " in t] == ["b", "a"], texts
    assert texts[-1] == "exiting with status 126"
    assert not u.find("main", "start")


def test_emfile_before_usher_is_set_up_is_a_clear_error_and_nothing_starts(emfile_run, act):
    """RLIMIT_NOFILE 5: not even usher's signalfd, timerfd and epoll fit. It says which call
    failed and why, starts nothing, and exits 1 (its own failure, not a child's status)."""
    u = emfile_run(["--sidecar", "a=" + act.line("a"), "--", *act("main")], 5)
    assert u.wait(timeout=10) == 1
    err = u.stderr().strip()
    assert err.startswith("usher: ") and err.endswith(": Too many open files"), err
    assert not u.events(), "something was started"


def test_emfile_for_a_probe_socket_fails_the_probe_with_its_reason(emfile_run, act, tmp_path):
    """RLIMIT_NOFILE 6: usher's own descriptors fit, a tcpSocket probe's socket does not. The
    startup probe fails with the reason, failureThreshold times; the sidecar is stopped and
    restarted (as the kubelet restarts a sidecar whose startup probe fails), and the startup stays
    blocked until SIGTERM."""
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy"), startupProbe=tcp_probe(1, period=1, failures=2))],
                    containers=[container("web", act("web"))])
    u = emfile_run(["-f", pod], 6)
    u.wait_for(lambda: "proxy will be restarted now (restart 1)" in u.log_texts(), timeout=10,
               what="the sidecar's restart after its failed startup probe")
    texts = u.log_texts()
    pid = u.first("proxy", "start")[4]
    assert f"proxy[{pid}] startup probe failed 2 times in a row (last: Too many open files)" in texts, texts
    assert f"proxy[{pid}] is stopped to be restarted: its startup probe failed" in texts, texts
    assert f"proxy[{pid}] stopping with SIGTERM" in texts
    assert not u.find("web", "start")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=10) == 143
    assert not u.find("web", "start")
    assert u.log_texts()[-1] == "exiting with status 143"


# --- a full stderr pipe ------------------------------------------------------------------------

def full_pipe():
    """A pipe whose buffer is full (64 KiB of filler): (read end, write end, bytes of filler).
    The write end is blocking again, as a process would get it."""
    r, w = os.pipe()
    flags = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    filler = 0
    try:
        while True:
            filler += os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, flags)
    return r, w, filler


@pytest.mark.parametrize("drain_before_stop", [False, True], ids=["never-read", "read-late"])
def test_a_full_stderr_pipe_never_stops_usher_supervising(spawn, act, events_log, drain_before_stop):
    """usher's stderr is a pipe already full, nobody reading: no log line can be written. usher
    still starts everything, restarts the crash-looping sidecar, and honours SIGTERM in order
    within the deadline. When the reader comes back, the lines that waited are all there, in
    order (usher queues a bounded backlog instead of dropping them)."""
    r, w, filler = full_pipe()
    try:
        p = spawn(["unshare", "--pid", "--fork", "--mount-proc", USHER, "--grace", "3s",
                   "--sidecar", "crashy=" + act.line("crashy", "--exit-after", 100, "--code", 1),
                   "--sidecar", "side=" + act.line("side"), "--", *act("main")],
                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w)
    finally:
        os.close(w)
    try:
        ev = lambda: [l.split(" ") for l in open(events_log).read().splitlines()] if os.path.exists(events_log) else []  # noqa: E731
        assert wait_until(lambda: {"side", "main"} <= {e[0] for e in ev() if e[1] == "start"}, 10), \
            f"usher did not start everything with its stderr full: {ev()}"
        assert wait_until(lambda: len([e for e in ev() if e[0] == "crashy" and e[1] == "start"]) >= 2, 10), \
            "the crash-looping sidecar was not restarted"
        assert p.poll() is None, f"usher ended ({p.returncode})"
        got = b""
        if drain_before_stop:
            fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
            while len(got) < filler:
                try:
                    got += os.read(r, 65536)
                except BlockingIOError:
                    break
        usher_pid = int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0])
        sent = time.monotonic_ns()
        os.kill(usher_pid, signal.SIGTERM)
        if not drain_before_stop:
            assert p.wait(timeout=10) == 143
        else:
            fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            with os.fdopen(r, "rb") as reader:
                r = None
                got += reader.read()
            assert p.wait(timeout=10) == 143
        took = ms(time.monotonic_ns() - sent)
        assert took < 3000, f"usher took {took:.0f} ms, its deadline is 3s"
        events = ev()
        main_exit = next(e for e in events if e[0] == "main" and e[1] == "exit")
        side_sig = next(e for e in events if e[0] == "side" and e[1] == "signal")
        assert side_sig[2] == "15" and int(side_sig[3]) >= int(main_exit[3])
        if drain_before_stop:
            log = got[filler:].decode()
            print("\nthe log once read again:\n" + log)
            assert "dropped" not in log, log
            texts = [l.split(" usher: ", 1)[1] for l in log.splitlines()]
            order = [next(k for k, t in enumerate(texts) if pattern in t) for pattern in
                     ("crashy[", "side[", "actor[", "received SIGTERM, shutting down", "exiting with status 143")]
            assert order == sorted(order), log
    finally:
        if r is not None:
            os.close(r)
