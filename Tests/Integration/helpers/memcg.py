"""A memory cgroup of a test's own, for the OOM tests (test_oom, test_oom_attribution): made below
this process's cgroup (cgroup v1's memory controller where it is mounted, else v2), limited to
64 MiB with no swap; usher is started in it. Where none can be made, the test skips and says why."""
import os
import re
import signal
import time
import uuid

import pytest

from conftest import descendants

LIMIT = 64 * 1024 * 1024
# The limit as a log line may show it: bytes, or 64 MiB / 64M / 64Mi / 65536 kB.
LIMIT_SHOWN = re.compile(r"67108864|\b64 ?Mi?B?\b|\b65536 ?[kK]i?B?\b")


class MemoryCgroup:
    """A memory cgroup below this process's own, limited to `limit` bytes with no swap."""

    def __init__(self, limit):
        lines = open("/proc/self/cgroup").read().splitlines()
        v1 = [l.split(":", 2)[2] for l in lines if l.split(":")[1] == "memory"]
        if v1 and os.path.isdir("/sys/fs/cgroup/memory"):
            self.version, base = 1, "/sys/fs/cgroup/memory" + v1[0]
        elif os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            self.version, base = 2, "/sys/fs/cgroup" + [l.split(":", 2)[2] for l in lines if l.startswith("0::")][0]
        else:
            pytest.skip("this machine has no memory cgroup controller to limit a test's memory")
        self.path = os.path.join(base, "usher-oom-" + uuid.uuid4().hex[:8])
        try:
            os.mkdir(self.path)
            if self.version == 1:
                self._write("memory.limit_in_bytes", limit)
                if os.path.exists(os.path.join(self.path, "memory.memsw.limit_in_bytes")):
                    self._write("memory.memsw.limit_in_bytes", limit)
            else:
                self._write("memory.max", limit)
                if os.path.exists(os.path.join(self.path, "memory.swap.max")):
                    self._write("memory.swap.max", 0)
        except OSError as e:
            self.remove()
            pytest.skip(f"cannot make a memory cgroup with a limit here ({self.path}): {e}")

    def _write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(value))

    def oom_kills(self):
        """The cgroup's oom_kill count (memory.oom_control on v1, memory.events on v2)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in open(os.path.join(self.path, name)).read().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        raise AssertionError(f"no oom_kill count in {self.path}/{name}")

    def enter_and_setsid(self):
        """A preexec_fn: the child joins the cgroup and leads a session (as Usher does)."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("0")
        os.setsid()

    def remove(self):
        try:
            for pid in open(os.path.join(self.path, "cgroup.procs")).read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        except OSError:
            pass
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


@pytest.fixture
def memory_cgroup():
    made = []

    def make(limit=LIMIT):
        cg = MemoryCgroup(limit)
        made.append(cg)
        return cg

    yield make
    for cg in made:
        cg.remove()


def hog_argv(hog_path, events_log, name, *opts):
    return [hog_path, name, "--log", events_log, *[str(o) for o in opts]]


def oom_lines(u):
    return [t for t in u.log_texts() if "OOM" in t]


def host_pid(u, name):
    """The pid, seen from here, of the process below usher whose argv[1] is `name`."""
    for p in descendants(u.proc.pid):
        try:
            argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[1] == name.encode():
            return p
    raise AssertionError(f"no process {name} below usher")


def limit_label(cg):
    """(the name the limit's file has in cg's cgroup version, the other version's name)."""
    return ("memory.limit_in_bytes", "memory.max") if cg.version == 1 else ("memory.max", "memory.limit_in_bytes")
