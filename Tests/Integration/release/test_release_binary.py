"""The release binary's promises: fully static, runs in an empty root filesystem, small, and
silent while idle (no system call at all), with an idle resident set no larger than tini-static's.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import USHER
from helpers.proc import start_pid1, stop_pid1


def test_is_static_and_stripped():
    out = subprocess.run(["readelf", "-lS", USHER], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in out, "dist/usher must not need a dynamic loader"
    assert ".symtab" not in out, "dist/usher must be stripped"


def test_size_at_most_one_megabyte():
    size = os.path.getsize(USHER)
    assert size <= 1_000_000, f"dist/usher is {size} bytes"


def test_runs_in_an_empty_root_filesystem():
    # A root with nothing but the binary: usher starts itself as the main process.
    root = tempfile.mkdtemp()
    try:
        shutil.copy(USHER, os.path.join(root, "usher"))
        r = subprocess.run(
            ["unshare", "--pid", "--fork", "chroot", root, "/usher", "--", "/usher", "--version"],
            capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("usher ")
        assert "usher[2] started" in r.stderr, r.stderr  # the child, as seen by PID 1
        assert "exiting with status 0" in r.stderr
    finally:
        shutil.rmtree(root)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by make deps")
def test_no_system_calls_while_idle():
    outer, pid = start_pid1([USHER, "--", "sleep", "60"])
    try:
        time.sleep(0.3)
        r = subprocess.run(["timeout", "-s", "INT", "3", "strace", "-c", "-p", str(pid)],
                           capture_output=True, text=True)
        # strace -c prints a table with a "total" row only when it saw calls.
        calls = [l for l in r.stderr.splitlines() if l.rstrip().endswith(" total")]
        counted = int(calls[0].split()[3]) if calls else 0
        assert counted == 0, r.stderr
        assert "attached" in r.stderr or "detached" in r.stderr or r.returncode in (0, 124), r.stderr
    finally:
        stop_pid1(outer, pid)


def _rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_idle_resident_memory_not_above_tini_static():
    tini = shutil.which("tini-static")
    if tini is None:
        pytest.fail("tini-static is missing: make deps installs Debian's tini package")
    measured = {}
    for name, argv in (("usher", [USHER, "--"]), ("tini-static", [tini, "--"])):
        # From a cold page cache, as the benchmark measures: a file just written (by strip, say)
        # sits in large page-cache folios, and a mapping faults in whole folios.
        fd = os.open(argv[0], os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        outer, pid = start_pid1(argv + ["sleep", "60"])
        try:
            # The idle steady state: the lowest of a few samples over a second, so a start-up
            # slowed by a busy machine is not measured before it is over.
            samples = []
            for _ in range(5):
                time.sleep(0.2)
                samples.append(_rss_kb(pid))
            measured[name] = min(samples)
        finally:
            stop_pid1(outer, pid)
    assert measured["usher"] <= measured["tini-static"], measured
