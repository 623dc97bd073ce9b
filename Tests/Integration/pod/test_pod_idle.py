"""An idle pod costs nothing but its probes: no system call at all without probes, and one
wake-up per probe period with one (the probes run in usher's one event loop, on its timer)."""
import subprocess
import time

from conftest import USHER
from helpers.podfile import container, sidecar, tcp_probe, write_pod
from helpers.podfile import free_port
from helpers.proc import start_pid1, stop_pid1


def strace_counts(pid, seconds):
    """{syscall: calls} made by pid over `seconds`, from strace -c."""
    r = subprocess.run(["timeout", "-s", "INT", str(seconds), "strace", "-c", "-p", str(pid)],
                       capture_output=True, text=True)
    counts = {}
    for line in r.stderr.splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            counts[parts[-1]] = int(parts[3])
    return counts


def test_a_pod_without_probes_makes_no_system_call_while_idle(tmp_path):
    pod = write_pod(tmp_path, init=[container("setup", ["true"]), sidecar("proxy", ["sleep", "60"])],
                    containers=[container("web", ["sleep", "60"]), container("worker", ["sleep", "60"])])
    outer, pid = start_pid1([USHER, "-f", pod])
    try:
        time.sleep(0.5)
        assert strace_counts(pid, 3) == {}
    finally:
        stop_pid1(outer, pid)


def test_a_probe_wakes_usher_once_per_period(tmp_path):
    # Nothing listens on the port: each check is a connect refused at once, no socket to wait on.
    pod = write_pod(tmp_path, containers=[container("web", ["sleep", "60"],
                                                    readinessProbe=tcp_probe(free_port(), period=1))])
    outer, pid = start_pid1([USHER, "-f", pod])
    try:
        time.sleep(0.5)
        counts = strace_counts(pid, 4)
        checks = counts.get("connect", 0)
        assert 3 <= checks <= 5, counts
        # Per check: the timer's wake-up and the socket's (the refusal arrives as the end of a
        # non-blocking connect), and nothing in between.
        assert counts.get("epoll_wait", 0) <= 2 * checks + 1, counts
    finally:
        stop_pid1(outer, pid)
