"""usher's steady state makes no heap allocation: a forwarded signal, a reaped orphan and a
timer wake-up (a passing tcpSocket probe's period) allocate nothing, whatever their number.
(A failing probe's check does allocate: the errno text of its result, one string a period.)

The release binary is static, so valgrind cannot swap its malloc (that needs a preload into a
dynamic executable); callgrind instead counts every call of malloc and its kin in the
unstripped build that dist/usher was stripped from (.build-musl/<arch>/usher, checked to strip
to dist/usher byte for byte: the same code, with the symbols that name malloc). Each scenario
runs twice, with a few and with many repetitions: the counts must be equal. A single
allocation added to any of these paths fails the test (before the fix that made this test, a
forwarded signal cost one malloc: 187 calls over 10 signals, 287 over 110).

Skipped, with the reason, without valgrind (`make deps` installs it), under emulation, or when
USHER_BIN has no unstripped twin built here."""
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import EMULATED, ROOT, USHER
from helpers.podfile import container, tcp_probe, write_pod
from helpers.programs import build_c

CHILD_SOURCE = os.path.join(ROOT, "Tests", "Benchmarks", "helpers", "child.c")
sys.path.insert(0, os.path.join(ROOT, "Tests", "Benchmarks"))
import callgrind  # noqa: E402  (the benchmark's callgrind parser)


def symbolled_twin():
    twin = os.path.join(ROOT, ".build-musl", platform.machine(), "usher")
    swiftc = shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc"
    objcopy = shutil.which("llvm-objcopy") or os.path.join(os.path.dirname(os.path.realpath(swiftc)), "llvm-objcopy")
    if not os.path.exists(twin) or not os.access(objcopy, os.X_OK) or not os.path.exists(USHER):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        stripped = os.path.join(tmp, "usher")
        subprocess.run([objcopy, "--strip-all", twin, stripped], check=True, timeout=60)
        with open(stripped, "rb") as a, open(USHER, "rb") as b:
            return twin if a.read() == b.read() else None


def skip_reason():
    if EMULATED:
        return "under emulation: valgrind does not run the qemu wrapper's guest"
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (make deps installs it)"
    if symbolled_twin() is None:
        return f"no unstripped build here that strips to {USHER} (make static builds .build-musl/<arch>/usher)"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def child():
    return build_c(CHILD_SOURCE, static="required")


def allocations(callgrind_out):
    """Calls of malloc and its kin in a callgrind output file."""
    return callgrind.allocations(callgrind.parse(callgrind_out)[1])


class Counted:
    """usher's twin under callgrind, as PID 1 of a pid namespace, with `args` after it."""

    def __init__(self, tmp, args, ready_fifo=None):
        self.out = os.path.join(tmp, f"callgrind.{time.monotonic_ns()}")
        self.fifo_fd = os.open(ready_fifo, os.O_RDONLY | os.O_NONBLOCK) if ready_fifo else None
        self.outer = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "valgrind", "--tool=callgrind",
             "--quiet", f"--callgrind-out-file={self.out}", symbolled_twin()] + args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:  # usher (valgrind, PID 1 inside) and its first child
            kids = self.children(self.outer.pid)
            if kids and self.children(kids[0]):
                self.pid = kids[0]
                break
            assert self.outer.poll() is None and time.monotonic() < deadline, "usher under callgrind did not start"
            time.sleep(0.01)

    @staticmethod
    def children(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except FileNotFoundError:
            return []

    def stamp(self, timeout=20):
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < 8:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self.fifo_fd], [], [], left)[0], "no word from the child"
            chunk = os.read(self.fifo_fd, 8 - len(data))
            assert chunk, "the child closed its end"
            data += chunk

    def finish(self):
        """SIGTERM (usher stops its main, then exits normally: callgrind writes its counts)."""
        os.kill(self.pid, signal.SIGTERM)
        assert self.outer.wait(timeout=120) is not None
        if self.fifo_fd is not None:
            os.close(self.fifo_fd)
        return allocations(self.out)


def signals_run(tmp, child, count):
    fifo = os.path.join(tmp, f"ack{count}")
    os.mkfifo(fifo)
    u = Counted(tmp, ["--", child, "sigack", fifo], ready_fifo=fifo)
    u.stamp(60)  # its SIGUSR1 handler is installed
    for _ in range(count):
        os.kill(u.pid, signal.SIGUSR1)
        u.stamp()  # forwarded and handled: the next one goes only now
    return u.finish()


def test_a_forwarded_signal_allocates_nothing(child, tmp_path):
    few, many = signals_run(str(tmp_path), child, 10), signals_run(str(tmp_path), child, 2000)
    assert few == many, f"{few} allocations over 10 forwarded signals, {many} over 2000"


def orphans_run(tmp, child, count):
    ready, go = os.path.join(tmp, f"ready{count}"), os.path.join(tmp, f"go{count}")
    os.mkfifo(ready)
    os.mkfifo(go)
    u = Counted(tmp, ["--", child, "orphans", str(count), ready, go], ready_fifo=ready)
    u.stamp(120)  # every orphan is running, reparented to usher
    assert len(u.children(u.pid)) == count + 1
    fd = os.open(go, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"g")  # all exit at once
    os.close(fd)
    deadline = time.monotonic() + 60
    while len(u.children(u.pid)) > 1:  # zombies stay listed until reaped
        assert time.monotonic() < deadline, "usher did not reap the orphans"
        time.sleep(0.01)
    return u.finish()


def test_reaping_orphans_allocates_nothing(child, tmp_path):
    few, many = orphans_run(str(tmp_path), child, 10), orphans_run(str(tmp_path), child, 500)
    assert few == many, f"{few} allocations reaping 10 orphans, {many} reaping 500"


def probe_run(tmp, pod, seconds, listener):
    u = Counted(tmp, ["-f", pod])
    time.sleep(seconds)  # usher's timer wakes it once a period; each check connects
    allocated = u.finish()
    checks = 0
    listener.setblocking(False)
    while True:  # the checks' connections, never accepted until now
        try:
            listener.accept()[0].close()
            checks += 1
        except BlockingIOError:
            return allocated, checks


def test_a_timer_wake_up_with_a_passing_probe_allocates_nothing(tmp_path):
    import socket
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))  # a tcpSocket probe's host is the pod's address
        listener.listen(64)
        port = listener.getsockname()[1]
        pod = write_pod(tmp_path, containers=[container("web", ["sleep", "60"],
                                                        readinessProbe=tcp_probe(port, period=1))])
        few, few_checks = probe_run(str(tmp_path), pod, 2.5, listener)
        many, many_checks = probe_run(str(tmp_path), pod, 7.5, listener)
    assert many_checks >= few_checks + 3, f"the probe ran {few_checks} and {many_checks} times"
    assert few == many, f"{few} allocations over {few_checks} probe periods, {many} over {many_checks}"
