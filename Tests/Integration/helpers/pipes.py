"""Pipes in the tests of usher's output: how full one is, waiting until it is full, reading one
to its end in a thread; and where a process is blocked in the kernel."""
import fcntl
import os
import termios
import threading
import time


def wchan(pid):
    try:
        return open(f"/proc/{pid}/wchan").read()
    except OSError:
        return "-"


def queued(fd):
    """Bytes waiting in the pipe whose read end is fd."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")


def wait_full(fd, u, timeout=10):
    """Waits until the pipe read through fd is full (64 KiB, the default size) and stays so."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = queued(fd)
        if n != last:
            last, since = n, time.monotonic()
        elif n >= 65536 - 4096 and time.monotonic() - since >= 0.3:
            return n
        time.sleep(0.02)
    raise AssertionError(f"the pipe never filled up ({last} bytes queued)\nevents: {u.events()}\nstderr:\n{u.stderr()}")


class Drain:
    """Reads a pipe to its end in a thread, keeping every byte."""

    def __init__(self, fd):
        self.fd, self.data = fd, bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return
            self.data += chunk

    def lines(self, timeout=10):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the pipe never reached its end (a writer still holds it)"
        return self.data.decode(errors="replace").splitlines()
