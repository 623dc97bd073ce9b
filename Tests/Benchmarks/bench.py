#!/usr/bin/env python3
"""usher against tini-static, tini, dumb-init and catatonit: the same measurements, in the same
run, on the same machine, each figure a median (or percentile) of repeated runs.

    python3 Tests/Benchmarks/bench.py [--quick] [--usher PATH] [--only STEP,...]

Writes Tests/Benchmarks/results/results.json and results.md (with --only, which runs the named
steps alone, e.g. `--only sidecars` for the growth table: only.json and only.md). Exits non-zero when a measurement
breaks (a supervisor does not start, a zombie is left, no samples, a helper fails), never
because of a timing figure: machines are noisy. Expects the helpers in Tests/Benchmarks/.out
(run.sh builds them) and root (pid namespaces, strace -p).

Except start-up, every measurement runs each supervisor as PID 1 of its own pid namespace
(`unshare --pid --fork --mount-proc --kill-child SUP ... COMMAND`), the way a container runs it;
the driver stays in the parent namespace, where the supervisor's pid is found through
/proc/<unshare>/task/<unshare>/children.
"""
import argparse
import ctypes
import hashlib
import json
import os
import platform
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import callgrind

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, ".out")
RESULTS = os.path.join(HERE, "results")
CHILD = os.path.join(OUT, "child")
PROBE = os.path.join(OUT, "probe")
TRUE_STATIC = os.path.join(OUT, "true-static")
BIN_TRUE = "/bin/true"
SETTLE = 0.3  # usher drops its start-up code mappings once its child runs; measure after this

# How many times each measurement repeats: full run, quick run (CI).
COUNTS = {
    "memory_runs": (5, 1),
    "startup_rounds": (200, 20),
    "signals": (5000, 300),
    "signal_rounds": (20, 3),      # fresh supervisors per round: the first signal is one per round
    "callgrind_signals": (1000, 110),
    "alloc_signals": (10000, 1000),
    "alloc_orphans": (1000, 200),
    "orphans": (2000, 200),
    "reap_runs": (15, 1),  # the storms vary 2x from run to run on a shared machine
    "idle_seconds": (10, 2),
    "deadline_runs": (50, 5),
    "sidecar_runs": (20, 3),
    "multi_runs": (5, 1),
}
SIDECAR_COUNTS = (0, 1, 8, 64, 256)  # 0: main alone, usher's fixed cost


@dataclass
class Supervisor:
    name: str
    path: str
    separator: bool = True  # takes `--` before the command (dumb-init does not)

    def argv(self, command):
        return [self.path] + (["--"] if self.separator else []) + list(command)


def supervisors(usher, usher_glibc=None):
    """The supervisors at their installed paths (main() measures snapshots of them): usher (the
    release binary, on musl), the same build on glibc when given (to compare the two libcs),
    and the four peers."""
    return [
        Supervisor("usher", usher),
        *([Supervisor("usher-glibc", usher_glibc)] if usher_glibc else []),
        Supervisor("tini-static", "/usr/bin/tini-static"),
        Supervisor("tini", "/usr/bin/tini"),
        Supervisor("dumb-init", "/usr/bin/dumb-init", separator=False),
        Supervisor("catatonit", "/usr/bin/catatonit"),
    ]


def snapshot(sups):
    """Copies every supervisor's binary into .out/bin and returns supervisors that run the
    copies: one file for the whole run (dist/usher may be rebuilt meanwhile), and the same
    page-cache history for all of them (see evict)."""
    directory = os.path.join(OUT, "bin")
    os.makedirs(directory, exist_ok=True)
    copies = []
    for s in sups:
        path = os.path.join(directory, s.name)
        shutil.copy2(s.path, path + ".tmp")
        os.replace(path + ".tmp", path)
        copies.append(Supervisor(s.name, path, s.separator))
    return copies


def evict(path):
    """Drops path's pages from the page cache (they are clean and, between runs, unmapped), so
    the next exec reads it afresh. The resident set of a process that drops and refaults its
    text (usher does) depends on the size of the page-cache folios it maps, and those depend on
    how the file was last read; this makes it the same for every supervisor."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class BenchError(Exception):
    """A measurement broke (as opposed to a slow figure, which is never an error)."""


# --- small tools ----------------------------------------------------------------------------

def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def wait_until(predicate, timeout, what, interval=0.005):
    """Polls predicate() until it returns something truthy; BenchError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def children(pid):
    """The pids of pid's children (zombies included: they stay listed until reaped)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def proc_state(pid):
    """The one-letter state of pid (R, S, Z, ...), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def status_fields(pid, *names):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in names:
                values[key] = int(rest.split()[0])
    return values


def percentile(samples, q):
    """Linear-interpolated percentile q (0..100) of samples."""
    if not samples:
        raise BenchError("no samples")
    s = sorted(samples)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(ns):
    return round(ns / 1e6, 3)


def us(ns):
    return round(ns / 1e3, 1)


def wait_pidfd(fd, timeout, what):
    """Blocks until the process behind pidfd fd has exited (it need not be our child)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(timeout * 1000):
        raise BenchError(f"{what} did not exit within {timeout}s")


class Fifo:
    """A named pipe from a helper to the driver, opened without blocking; reads have timeouts."""

    def __init__(self, directory, name):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)

    def read_stamp(self, timeout, what):
        """One 8-byte CLOCK_MONOTONIC stamp (0 means "ready")."""
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < 8:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise BenchError(f"timed out after {timeout}s waiting for {what}")
            chunk = os.read(self.fd, 8 - len(data))
            if not chunk:
                raise BenchError(f"{what}: the helper closed its end (did it die?)")
            data += chunk
        return int.from_bytes(data, sys.byteorder, signed=True)

    def close(self):
        os.close(self.fd)


# --- every process is cleaned up, even on failure --------------------------------------------

LIVE = set()  # Popen objects not yet waited for


def start(argv, **kwargs):
    """Popen with no stdin and output discarded unless asked for; stopped by stop_all()."""
    kwargs = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL, **kwargs}
    p = subprocess.Popen(argv, **kwargs)
    LIVE.add(p)
    return p


def stop(p, sig=signal.SIGKILL, grace=0):
    """Ends p: after waiting up to grace seconds for it to exit by itself, with sig."""
    if grace > 0:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
    LIVE.discard(p)


def stop_all():
    for p in list(LIVE):
        stop(p)


def die_with_driver():
    """In a child before exec: SIGKILL it when the driver dies, even by SIGKILL (no clean-up
    code runs then). For unshare, whose --kill-child then ends the namespace."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Pid1:
    outer: subprocess.Popen  # unshare, in our namespace
    pid: int                 # the supervisor (PID 1 inside), as seen from here
    pidfd: int               # the supervisor's pidfd: signals and waits without pid reuse

    def child(self):
        kids = children(self.pid)
        return kids[0] if kids else None

    def signal(self, sig):
        signal.pidfd_send_signal(self.pidfd, sig)

    def wait_exit(self, timeout):
        wait_pidfd(self.pidfd, timeout, f"PID 1 ({self.pid})")

    def expect_status(self, expected):
        """After wait_exit: PID 1's exit status (unshare passes it on) must be `expected`."""
        status = self.outer.wait(timeout=5)
        if status != expected:
            supervisor = self.outer.args[5]  # after unshare and its four options
            raise BenchError(f"{supervisor} exited with status {status}, expected {expected}")


@contextmanager
def as_pid1(argv, timeout=10):
    """Runs argv as PID 1 of a new pid namespace until the block ends; waits until it has
    started its first child. Killing PID 1 ends the whole namespace; --kill-child ends PID 1
    if unshare itself dies, and unshare dies with the driver."""
    outer = start(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + argv,
                  preexec_fn=die_with_driver)
    pidfd = None
    try:
        def supervisor_started():
            if outer.poll() is not None:
                raise BenchError(f"{argv[0]} exited with status {outer.returncode} at start")
            kids = children(outer.pid)
            return kids and children(kids[0]) and kids[0]
        pid = wait_until(supervisor_started, timeout, f"{os.path.basename(argv[0])} to start its child")
        pidfd = os.pidfd_open(pid)
        yield Pid1(outer, pid, pidfd)
    finally:
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(pidfd)
            stop(outer, grace=5)  # unshare reaps its PID 1, then exits
        else:
            stop(outer)


# --- the measurements ------------------------------------------------------------------------

def elf_facts(path):
    out = subprocess.run(["readelf", "-lS", "-W", path], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return {"static": "INTERP" not in out, "stripped": ".symtab" not in out}


def measure_sizes(sups, cfg, arm64=None):
    """Binary size: the file's size in bytes, and whether it is static (no PT_INTERP) and
    stripped (no .symtab). A dynamic binary also needs libc, which is not counted. With arm64,
    the arm64 release binary's size too (as "usher-arm64"; it does not run here)."""
    result = {}
    for s in sups:
        result[s.name] = {"bytes": os.path.getsize(s.path), **elf_facts(s.path)}
    if arm64:
        result["usher-arm64"] = {"bytes": os.path.getsize(arm64), **elf_facts(arm64)}
    if not result["usher"]["static"] or not result["usher"]["stripped"]:
        raise BenchError(f"{sups[0].path} is not a static, stripped release binary")
    return result


def measure_memory(sups, cfg, warm=False):
    """Memory: VmRSS (and its anonymous/file parts) of the supervisor as PID 1 supervising one
    idle `sleep`, read SETTLE seconds after the sleep started; median of runs.
    Cold: each run starts from the binary evicted from the page cache (see evict).
    Warm (the state of every running container): the binary is evicted once and run once, so the
    page cache holds it as an exec leaves it; the measured runs follow without evicting."""
    result = {}
    for s in sups:
        samples = []
        if warm:
            evict(s.path)
            with as_pid1(s.argv(["sleep", "600"])):
                time.sleep(SETTLE)
        for _ in range(cfg["memory_runs"]):
            if not warm:
                evict(s.path)
            with as_pid1(s.argv(["sleep", "600"])) as p:
                time.sleep(SETTLE)
                samples.append(status_fields(p.pid, "VmRSS", "RssAnon", "RssFile"))
        result[s.name] = {
            key.lower() + "_kb": statistics.median(x[key] for x in samples)
            for key in ("VmRSS", "RssAnon", "RssFile")
        }
        result[s.name]["runs"] = len(samples)
    return result


def probe_spawn(rounds, commands):
    argv = [PROBE, "spawn", str(rounds)]
    for c in commands:
        argv += ["--cmd"] + c
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60 + rounds * len(commands) * 2)
    if r.returncode != 0:
        raise BenchError(f"probe spawn failed: {r.stderr.strip()}")
    samples = [[] for _ in commands]
    for line in r.stdout.split("\n"):
        if line:
            index, ns = line.split()
            samples[int(index)].append(int(ns))
    return samples


def measure_startup(sups, cfg):
    """Start-up: wall time of `SUP -- /bin/true` and `SUP -- true-static` from just before
    posix_spawn to waitpid's return, run directly (not as PID 1) from a C loop; rounds are
    interleaved over all commands. Baselines: /bin/true and true-static alone. One warm-up
    round is discarded. Overhead = the supervisor's median minus the baseline's median."""
    commands = [[BIN_TRUE], [TRUE_STATIC]]
    for s in sups:
        commands += [s.argv([BIN_TRUE]), s.argv([TRUE_STATIC])]
    probe_spawn(1, commands)  # warm-up: page cache, dynamic loader caches
    samples = probe_spawn(cfg["startup_rounds"], commands)

    def summary(ns):
        return {"median_ms": ms(percentile(ns, 50)), "p90_ms": ms(percentile(ns, 90)), "runs": len(ns)}

    base_dyn, base_static = samples[0], samples[1]
    result = {"baseline": {"bin_true": summary(base_dyn), "true_static": summary(base_static)}}
    for i, s in enumerate(sups):
        dyn, stat = samples[2 + 2 * i], samples[3 + 2 * i]
        result[s.name] = {
            "bin_true": summary(dyn),
            "true_static": summary(stat),
            "overhead_ms": ms(percentile(stat, 50) - percentile(base_static, 50)),
            "overhead_bin_true_ms": ms(percentile(dyn, 50) - percentile(base_dyn, 50)),
        }
    return result


def measure_signals(sups, cfg):
    """Signal forwarding latency: CLOCK_MONOTONIC just before kill(supervisor, SIGUSR1) in the
    C probe, to CLOCK_MONOTONIC inside the child's SIGUSR1 handler; the next signal goes after
    the child's acknowledgement. All supervisors run side by side and take turns, one signal
    each per round. p50/p99 over all signals, and the first one on its own."""
    rounds = cfg["signal_rounds"]
    count = cfg["signals"] // rounds
    samples = [[] for _ in sups]
    firsts = [[] for _ in sups]
    shuffler = random.Random(15)
    for round_ in range(rounds):  # fresh supervisors each round: each round has a first signal
        # The first place goes round from round to round: the first signal of a round is also
        # the probe's own first kill and poll, slower for that alone (measured: whichever
        # supervisor came first had the slowest first signal), so each takes it in turn. The
        # rest follow in a new order each round (seeded, so a run can be repeated): a plain
        # rotation kept each supervisor behind the same one in every round, and that neighbour
        # decided the ranking (measured, six supervisors, three runs of each order: dumb-init
        # behind tini had the lowest p50 in all six; behind catatonit it was 5 to 7 us slower
        # than usher in all three).
        first = round_ % len(sups)
        rest = [k for k in range(len(sups)) if k != first]
        shuffler.shuffle(rest)
        order = [first] + rest
        with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp, ExitStack() as stack:
            targets = []
            for s in (sups[i] for i in order):
                fifo = os.path.join(tmp, s.name)
                os.mkfifo(fifo)
                p = stack.enter_context(as_pid1(s.argv([CHILD, "sigack", fifo])))
                targets += [str(p.pid), fifo]
            time.sleep(SETTLE)  # as for memory: after usher has dropped its start-up code
            r = subprocess.run([PROBE, "signal", str(count)] + targets,
                               capture_output=True, text=True, timeout=60 + count * len(sups) * 0.05)
        if r.returncode != 0:
            raise BenchError(f"probe signal failed: {r.stderr.strip()}")
        got = [[] for _ in sups]
        for line in r.stdout.splitlines():
            index, ns = line.split()
            got[order[int(index)]].append(int(ns))
        for i, s in enumerate(sups):
            if len(got[i]) != count:
                raise BenchError(f"{s.name}: {len(got[i])} of {count} signals acknowledged")
            firsts[i].append(got[i][0])
            samples[i] += got[i]
    result = {}
    for s, ns, first in zip(sups, samples, firsts):
        result[s.name] = {"p50_us": us(percentile(ns, 50)), "p99_us": us(percentile(ns, 99)),
                          "first_us": us(statistics.median(first)), "firsts_us": [us(f) for f in first],
                          "max_us": us(max(ns)), "signals": len(ns), "rounds": rounds}
    return result


# --- counts under valgrind: instructions and heap allocations ---------------------------------

def parse_callgrind(path):
    """A callgrind output file: (total instructions, {called function: calls})."""
    total, calls = callgrind.parse(path)
    if total is None:
        raise BenchError(f"{path}: no instruction total in the callgrind output")
    return total, calls


def callgrind_run(sup, argv_tail, tmp, drive, name):
    """Runs `valgrind --tool=callgrind SUP ... argv_tail` as PID 1 of a pid namespace, lets
    `drive(pid1, fifo)` do its work, then has it exit normally (callgrind writes its counts
    at exit): returns parse_callgrind of them. argv_tail gets the FIFO path for {fifo}."""
    fifo = Fifo(tmp, name)
    out = os.path.join(tmp, name + ".callgrind")
    try:
        argv = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}"]
        argv += sup.argv([a.replace("{fifo}", fifo.path) for a in argv_tail])
        with as_pid1(argv, timeout=60) as p:
            fifo.read_stamp(60, f"{sup.name} under callgrind: its child to be ready")
            drive(p, fifo)
            p.wait_exit(120)
    finally:
        fifo.close()
    return parse_callgrind(out)


def forward_signals(count):
    def drive(p, fifo):
        for _ in range(count):
            p.signal(signal.SIGUSR1)
            fifo.read_stamp(10, "the child's acknowledgement")
        p.signal(signal.SIGTERM)  # forwarded (stop request for usher): the child exits, then PID 1
    return drive


def symbolled_twin(path):
    """The unstripped build dist/usher was made from (.build-musl/<arch>/usher), when
    stripping it gives dist/usher byte for byte: the same code, with the symbol table that
    callgrind needs to name malloc. None when there is no such file."""
    twin = os.path.join(REPO, ".build-musl", platform.machine(), "usher")
    objcopy = shutil.which("llvm-objcopy") or os.path.join(
        os.path.dirname(os.path.realpath(shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc")), "llvm-objcopy")
    if not os.path.exists(twin) or not os.access(objcopy, os.X_OK):
        return None
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        stripped = os.path.join(tmp, "usher")
        subprocess.run([objcopy, "--strip-all", twin, stripped], check=True, timeout=60)
        with open(stripped, "rb") as a, open(path, "rb") as b:
            return twin if a.read() == b.read() else None


def measure_instructions(sups, cfg, usher_installed):
    """Instructions per forwarded signal (user space, counted by callgrind: repeatable on a
    noisy machine, unlike time): each supervisor as PID 1 with `child sigack`, under callgrind,
    once forwarding 10 SIGUSR1s and once N; (total(N) - total(10)) / (N - 10): start-up and
    exit cancel out. For usher the heap allocations of the same runs too (calls of malloc and
    its kin; callgrind names them from the symbols of dist/usher's unstripped twin, the same
    code): their difference over the extra signals is what a forwarded signal allocates."""
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is missing (run.sh installs it)")
    big, small = cfg["callgrind_signals"], 10
    result = {}
    twin = symbolled_twin(usher_installed)
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        for s in sups:
            sup = Supervisor(s.name, twin, s.separator) if s.name == "usher" and twin else s
            t_small, c_small = callgrind_run(sup, [CHILD, "sigack", "{fifo}"], tmp, forward_signals(small), s.name + "-small")
            t_big, c_big = callgrind_run(sup, [CHILD, "sigack", "{fifo}"], tmp, forward_signals(big), s.name + "-big")
            result[s.name] = {"per_signal": round((t_big - t_small) / (big - small), 1),
                              "total_small": t_small, "total_big": t_big, "signals": [small, big]}
            if sup.path == twin:
                a = callgrind.allocations(c_small)
                b = callgrind.allocations(c_big)
                result[s.name]["allocations"] = [a, b]
    return result


def measure_allocations(usher_installed, cfg):
    """usher's steady state allocates nothing: heap allocations (calls of malloc and its kin,
    counted by callgrind in dist/usher's unstripped twin) over 10 forwarded signals against
    many, and over a main that leaves 10 orphans against one that leaves many (all reaped by
    usher). Equal counts: no allocation per signal or per reaped child."""
    twin = symbolled_twin(usher_installed)
    if twin is None:
        raise BenchError("no unstripped twin of dist/usher in .build-musl (make static builds it)")
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is missing (run.sh installs it)")
    sup = Supervisor("usher", twin)
    result = {}
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        counts = {}
        for n in (10, cfg["alloc_signals"]):
            _, calls = callgrind_run(sup, [CHILD, "sigack", "{fifo}"], tmp, forward_signals(n), f"sig{n}")
            counts[n] = callgrind.allocations(calls)
        result["signals"] = {"counts": [10, cfg["alloc_signals"]], "allocations": list(counts.values())}
        counts = {}
        for n in (10, cfg["alloc_orphans"]):
            go = os.path.join(tmp, f"go{n}")
            os.mkfifo(go)

            def release(p, fifo, go=go):
                fd = os.open(go, os.O_WRONLY | os.O_NONBLOCK)
                os.write(fd, b"g")
                os.close(fd)
                wait_until(lambda: len(children(p.pid)) == 1, 60, "the orphans to be reaped")
                p.signal(signal.SIGTERM)
            _, calls = callgrind_run(sup, [CHILD, "orphans", str(n), "{fifo}", go], tmp, release, f"orph{n}")
            counts[n] = callgrind.allocations(calls)
        result["orphans"] = {"counts": [10, cfg["alloc_orphans"]], "allocations": list(counts.values())}
    return result


def attach_strace(pid, summary_path, timeout=10):
    """Starts `strace -c -f -p pid -o summary_path` and returns once it has attached."""
    tracer = start(["strace", "-c", "-f", "-p", str(pid), "-o", summary_path],
                   stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    seen = b""
    while b"attached" not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([tracer.stderr], [], [], left)[0]:
            raise BenchError(f"strace did not attach to {pid}: {seen.decode(errors='replace')}")
        chunk = os.read(tracer.stderr.fileno(), 4096)
        if not chunk:
            raise BenchError(f"strace exited: {seen.decode(errors='replace')}")
        seen += chunk
    return tracer


def measure_signal_syscalls(sups, cfg):
    """System calls per forwarded signal: each supervisor (PID 1, with `child sigack`) under
    `strace -c -f` while the driver sends it SIGUSR1 one at a time, each acknowledged before
    the next; every system call the supervisor made, divided by the signals. A count, not a
    timing: it does not depend on the machine's load."""
    count = max(20, cfg["signals"] // 50)
    result = {}
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        for s in sups:
            fifo = Fifo(tmp, s.name)
            try:
                with as_pid1(s.argv([CHILD, "sigack", fifo.path])) as p:
                    fifo.read_stamp(10, f"{s.name}'s child to be ready")
                    summary = os.path.join(tmp, s.name + ".strace")
                    tracer = attach_strace(p.pid, summary)
                    for _ in range(count):
                        p.signal(signal.SIGUSR1)
                        fifo.read_stamp(5, f"{s.name}: the child's acknowledgement")
                    stop(tracer, signal.SIGINT)
                    tracer.stderr.close()
                    with open(summary) as f:
                        calls = parse_strace_summary(f.read())
            finally:
                fifo.close()
            result[s.name] = {"per_signal": round(sum(calls.values()) / count, 2),
                              "by_name": {k: round(v / count, 2) for k, v in calls.items()},
                              "signals": count}
    return result


def reap_once(s, n, tmp):
    """One storm: the child starts n orphans (reparented to the supervisor), then all exit at
    once. Timed from the byte that releases them to the moment the supervisor's children list
    (zombies included) holds only the main child again: every orphan has exited and been
    reaped. Polled every ~0.2 ms from the parent namespace."""
    ready, go = os.path.join(tmp, "ready"), os.path.join(tmp, "go")
    for f in (ready, go):
        if os.path.exists(f):
            os.unlink(f)
    os.mkfifo(go)
    fifo = Fifo(tmp, "ready")
    try:
        with as_pid1(s.argv([CHILD, "orphans", str(n), ready, go])) as p:
            fifo.read_stamp(60, f"{s.name}: {n} orphans to start")
            main = p.child()
            before = children(p.pid)
            if len(before) != n + 1:
                raise BenchError(f"{s.name}: expected {n + 1} children of PID 1, found {len(before)}")
            go_fd = os.open(go, os.O_WRONLY | os.O_NONBLOCK)  # the child waits on its read end
            t0 = now_ns()
            os.write(go_fd, b"g")
            os.close(go_fd)
            listing = f"/proc/{p.pid}/task/{p.pid}/children"
            deadline = time.monotonic() + 30
            while True:
                with open(listing, "rb") as f:
                    if f.read().count(b" ") <= 1:  # "PID " per child: the main child alone
                        break
                if time.monotonic() > deadline:
                    left = [c for c in children(p.pid) if c != main]
                    zombies = sum(1 for c in left if proc_state(c) == "Z")
                    raise BenchError(f"{s.name}: {len(left)} orphans left after 30s ({zombies} zombies)")
                time.sleep(0.0002)
            elapsed = now_ns() - t0
            if children(p.pid) != [main]:
                raise BenchError(f"{s.name}: the main child is gone too: {children(p.pid)}")
            zombies = [c for c in children(p.pid) if proc_state(c) == "Z"]
            if zombies:
                raise BenchError(f"{s.name}: zombies left: {zombies}")
            return elapsed
    finally:
        fifo.close()


def measure_reaping(sups, cfg):
    """Reaping: median over runs of the storm's duration (see reap_once); each run goes
    through all supervisors in turn."""
    n = cfg["orphans"]
    samples = {s.name: [] for s in sups}
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        for _ in range(cfg["reap_runs"]):
            for s in sups:
                samples[s.name].append(reap_once(s, n, tmp))
    # zombies_left: reap_once fails the measurement when any is left.
    return {name: {"median_ms": ms(statistics.median(ns)), "orphans": n, "runs": len(ns),
                   "zombies_left": 0}
            for name, ns in samples.items()}


def parse_strace_summary(text):
    """strace -c's table: {syscall: calls}. No table (no calls) gives {}."""
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            try:
                calls[fields[-1]] = int(fields[3])
            except ValueError:
                pass
    return calls


def measure_idle(sups, cfg):
    """Idle cost, all supervisors side by side, each as PID 1 supervising `sleep`:
    1. wake-ups: voluntary + involuntary context switches of the supervisor over the window,
       from /proc/PID/status with no tracer attached;
    2. system calls: `strace -c -f -p PID` over a second window of the same length."""
    window = cfg["idle_seconds"]
    keys = ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
    result = {}
    with ExitStack() as stack:
        running = {s.name: stack.enter_context(as_pid1(s.argv(["sleep", "600"]))) for s in sups}
        time.sleep(SETTLE)
        before = {n: status_fields(p.pid, *keys) for n, p in running.items()}
        time.sleep(window)
        after = {n: status_fields(p.pid, *keys) for n, p in running.items()}
        tracers = {n: start(["timeout", "-s", "INT", str(window), "strace", "-c", "-f", "-p", str(p.pid)],
                            stderr=subprocess.PIPE, text=True)
                   for n, p in running.items()}
        for n, t in tracers.items():
            _, err = t.communicate(timeout=window + 20)
            LIVE.discard(t)
            if "attached" not in err and "detached" not in err:
                raise BenchError(f"{n}: strace did not attach (status {t.returncode}): {err.strip()}")
            calls = parse_strace_summary(err)
            result[n] = {"syscalls": sum(calls.values()), "syscalls_by_name": calls,
                         "wakeups": sum(after[n][k] - before[n][k] for k in keys),
                         "seconds": window}
    return result


# --- usher only: shutdown deadlines and sidecars --------------------------------------------

GRACE_MS = 200
PRE_STOP_MS = 100


def deadline_once(usher, tmp):
    """--grace 200ms, main ignores SIGTERM. From just before SIGTERM to usher until (a) the
    main child has died (its pidfd turns readable: the SIGKILL arrived) and (b) usher has
    exited; each minus the grace."""
    fifo = Fifo(tmp, "ready")
    try:
        argv = [usher, "--grace", f"{GRACE_MS}ms", "--", CHILD, "ignore-term", fifo.path]
        with as_pid1(argv) as p:
            fifo.read_stamp(10, "the child to ignore SIGTERM")
            child_fd = os.pidfd_open(p.child())
            try:
                t0 = now_ns()
                p.signal(signal.SIGTERM)
                wait_pidfd(child_fd, 5, "the main process (SIGKILL at the deadline)")
                killed = now_ns()
                p.wait_exit(5)
                exited = now_ns()
            finally:
                os.close(child_fd)
            p.expect_status(128 + signal.SIGKILL)
        return killed - t0 - GRACE_MS * 1_000_000, exited - t0 - GRACE_MS * 1_000_000
    finally:
        fifo.close()
        os.unlink(fifo.path)


def pre_stop_once(usher, tmp):
    """--pre-stop 100ms: from just before SIGTERM to usher to the CLOCK_MONOTONIC the main
    child takes in its SIGTERM handler, minus the pre-stop delay."""
    fifo = Fifo(tmp, "ack")
    try:
        argv = [usher, "--pre-stop", f"{PRE_STOP_MS}ms", "--", CHILD, "term-ack", fifo.path]
        with as_pid1(argv) as p:
            fifo.read_stamp(10, "the child to handle SIGTERM")
            t0 = now_ns()
            p.signal(signal.SIGTERM)
            arrived = fifo.read_stamp(5, "SIGTERM to reach the main process")
            p.wait_exit(5)
            p.expect_status(0)
        return arrived - t0 - PRE_STOP_MS * 1_000_000
    finally:
        fifo.close()
        os.unlink(fifo.path)


def observer_once():
    """What the measurement itself costs in deadline_once: from just before the driver sends
    SIGKILL to a plain `child pause` to its pidfd turning readable (kill, exit, wake-up)."""
    p = start([CHILD, "pause"])
    fd = os.pidfd_open(p.pid)
    try:
        time.sleep(0.005)
        t0 = now_ns()
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        wait_pidfd(fd, 5, "a plain process after SIGKILL")
        return now_ns() - t0
    finally:
        os.close(fd)
        stop(p)


def timer_once():
    """The machine's own timer lateness for one 20 ms timerfd + epoll_wait (probe timer)."""
    r = subprocess.run([PROBE, "timer", "1", "20"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise BenchError(f"probe timer failed: {r.stderr.strip()}")
    return int(r.stdout)


def measure_deadlines(usher, cfg):
    """Deadline precision: how late after the grace deadline SIGKILL lands (and usher exits),
    and how late after the pre-stop delay the stop signal lands; p50/p99 over runs. The
    observer figure is the part of the SIGKILL lateness that is the measurement's own; the
    timer figure is how late this machine wakes a plain timerfd + epoll_wait loop (20 ms)."""
    kill_late, exit_late, stop_late, observer, timer = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        for _ in range(cfg["deadline_runs"]):  # the baselines interleaved with usher's runs
            k, e = deadline_once(usher, tmp)
            kill_late.append(k)
            exit_late.append(e)
            stop_late.append(pre_stop_once(usher, tmp))
            observer.append(observer_once())
            timer.append(timer_once())

    def summary(ns):
        return {"p50_ms": ms(percentile(ns, 50)), "p99_ms": ms(percentile(ns, 99)),
                "max_ms": ms(max(ns)), "runs": len(ns)}

    return {"grace_ms": GRACE_MS, "pre_stop_ms": PRE_STOP_MS,
            "sigkill_after_grace": summary(kill_late), "exit_after_grace": summary(exit_late),
            "stop_signal_after_pre_stop": summary(stop_late),
            "observer": summary(observer), "timer": summary(timer)}


def sidecars_once(usher, n):
    """n sidecars and a main, all `child pause` (SIGTERM ends each at once): from just before
    SIGTERM to usher until usher has exited (it stops the main, then the sidecars one after
    another in reverse order, waiting for each)."""
    argv = [usher]
    for i in range(n):
        argv += ["--sidecar", f"s{i}='{CHILD}' pause"]
    argv += ["--", CHILD, "pause"]
    with as_pid1(argv) as p:
        wait_until(lambda: len(children(p.pid)) == n + 1, 30, f"usher to start {n} sidecars and main")
        time.sleep(SETTLE)
        rss = status_fields(p.pid, "VmRSS")["VmRSS"]
        t0 = now_ns()
        p.signal(signal.SIGTERM)
        p.wait_exit(60)
        elapsed = now_ns() - t0
        p.expect_status(128 + signal.SIGTERM)
        return elapsed, rss


def sequential_baseline_once(n):
    """The same n + 1 processes, started directly by the C probe, which sends SIGTERM to each
    in reverse start order and waits for it (waitpid) before the next, as usher does. Timed
    from the first kill to the last waitpid's return."""
    r = subprocess.run([PROBE, "kill-chain", str(n + 1), CHILD, "pause"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise BenchError(f"probe kill-chain failed: {r.stderr.strip()}")
    return int(r.stdout)


def measure_sidecars(usher, cfg):
    """Shutdown of N sidecars: usher's time from SIGTERM to exit against the sequential
    baseline; median of runs; the difference is what usher adds."""
    result = {}
    counts = cfg.get("sidecar_counts", SIDECAR_COUNTS)
    for n in counts:
        runs = [sidecars_once(usher, n) for _ in range(cfg["sidecar_runs"])]
        shut = [r[0] for r in runs]
        base = [sequential_baseline_once(n) for _ in range(cfg["sidecar_runs"])]
        added = statistics.median(shut) - statistics.median(base)
        rss = statistics.median(r[1] for r in runs)
        result[str(n)] = {"usher_ms": ms(statistics.median(shut)),
                          "baseline_ms": ms(statistics.median(base)),
                          "added_ms": ms(added), "added_per_process_ms": ms(added / (n + 1)),
                          "rss_kb": rss, "runs": len(shut)}
    fixed = result[str(counts[0])]["rss_kb"]
    for n in counts[1:]:
        result[str(n)]["rss_per_sidecar_kb"] = round((result[str(n)]["rss_kb"] - fixed) / n, 2)
    return result


# --- multi-process supervision: usher against supervisord and s6 ---------------------------

MULTI_SIDECARS = (3, 32)
MULTI_GRACE_S = 2  # usher's --grace; supervisord's stopwaitsecs; s6's timeout-kill


def multi_setup(kind, n, tmp, fifo, ignoring):
    """The argv that runs an app plus n sidecars under `kind` (usher, supervisord, s6-svscan),
    each `child sigack FIFO` (ready stamp, exits at once on SIGTERM); with `ignoring`, the app
    is `child ignore-term FIFO` instead. Configuration files are written into tmp."""
    app = [CHILD, "ignore-term" if ignoring else "sigack", fifo]
    side = [CHILD, "sigack", fifo]
    if kind == "usher":
        argv = [USHER_FOR_MULTI[0], "--grace", f"{MULTI_GRACE_S}s"]
        for i in range(n):
            argv += ["--sidecar", f"s{i}=" + " ".join(side)]
        return argv + ["--"] + app
    if kind == "usher-unordered":
        # The same processes as one pod's n + 1 regular containers, which the kubelet (and usher)
        # stop all at once: the scenario s6-svscan runs, for a like-for-like stop figure.
        pod = os.path.join(tmp, "pod.yaml")
        names = ["app"] + [f"s{i}" for i in range(n)]
        commands = [app] + [side] * n
        with open(pod, "w") as f:
            f.write(f"terminationGracePeriodSeconds: {MULTI_GRACE_S}\ncontainers:\n")
            for name, command in zip(names, commands):
                f.write(f"  - name: {name}\n    command: {json.dumps(command)}\n")
        return [USHER_FOR_MULTI[0], "-f", pod]
    if kind == "supervisord":
        conf = os.path.join(tmp, "supervisord.conf")
        lines = ["[supervisord]", "nodaemon=true", "user=root", "logfile=/dev/null", "logfile_maxbytes=0",
                 f"pidfile={tmp}/supervisord.pid", "loglevel=warn", ""]
        # Lower priority starts first and stops last: the sidecars before the app, as usher.
        progs = [(f"s{i}", side, 100 + i) for i in range(n)] + [("app", app, 900)]
        for name, command, priority in progs:
            lines += [f"[program:{name}]", "command=" + " ".join(command), f"priority={priority}",
                      "startsecs=0", "autorestart=true", f"stopwaitsecs={MULTI_GRACE_S}",
                      "stdout_logfile=/dev/null", "stderr_logfile=/dev/null", ""]
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        return [shutil.which("supervisord") or "/usr/bin/supervisord", "-n", "-c", conf]
    # s6: one service directory per process, its run script exec'ing the command (the usual
    # form: s6-overlay's services are scripts too); timeout-kill: SIGKILL after the grace.
    scan = os.path.join(tmp, "scan")
    os.makedirs(scan, exist_ok=True)
    for name, command in [(f"s{i}", side) for i in range(n)] + [("app", app)]:
        d = os.path.join(scan, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "run"), "w") as f:
            f.write("#!/bin/sh\nexec " + " ".join(command) + "\n")
        os.chmod(os.path.join(d, "run"), 0o755)
        with open(os.path.join(d, "timeout-kill"), "w") as f:
            f.write(f"{MULTI_GRACE_S * 1000}\n")
    return [shutil.which("s6-svscan") or "/usr/bin/s6-svscan", scan]


USHER_FOR_MULTI = [None]  # set by measure_multiprocess


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def supervision_tree(pid1):
    """The supervisor's own processes: the tree under PID 1 less the supervised `child`s."""
    child = os.path.realpath(CHILD)
    pids = []
    for p in tree(pid1):
        try:
            if os.path.realpath(f"/proc/{p}/exe") != child:
                pids.append(p)
        except OSError:
            pass
    return pids


def multi_once(kind, n, tmp, ignoring=False, idle=0):
    """One run: start (until every process has sent its ready stamp), resident memory of the
    supervision tree, optionally `idle` seconds of idle cost, then SIGTERM to PID 1 until it
    has exited. Times in ns."""
    for f in os.listdir(tmp):
        path = os.path.join(tmp, f)
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
    fifo = Fifo(tmp, "ready")
    result = {}
    try:
        argv = multi_setup(kind, n, tmp, fifo.path, ignoring)
        t0 = now_ns()
        with as_pid1(argv, timeout=60) as p:
            for k in range(n + 1):
                fifo.read_stamp(60, f"{kind}: process {k + 1} of {n + 1} to be ready")
            result["start_ns"] = now_ns() - t0
            time.sleep(SETTLE)
            sup = supervision_tree(p.pid)
            result["processes"] = len(sup)
            result["rss_kb"] = sum(status_fields(q, "VmRSS")["VmRSS"] for q in sup)
            if idle:
                keys = ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
                before = {q: status_fields(q, *keys) for q in sup}
                time.sleep(idle)
                after = {q: status_fields(q, *keys) for q in sup}
                result["wakeups"] = sum(after[q][k] - before[q][k] for q in sup for k in keys)
                argv_strace = ["timeout", "-s", "INT", str(idle), "strace", "-c", "-f"]
                for q in sup:
                    argv_strace += ["-p", str(q)]
                tracer = start(argv_strace, stderr=subprocess.PIPE, text=True)
                _, err = tracer.communicate(timeout=idle + 30)
                LIVE.discard(tracer)
                result["syscalls"] = sum(parse_strace_summary(err).values())
            t1 = now_ns()
            p.signal(signal.SIGTERM)
            p.wait_exit(MULTI_GRACE_S * 5 + 30)
            result["stop_ns"] = now_ns() - t1
    finally:
        fifo.close()
    return result


def measure_multiprocess(usher, cfg):
    """An app plus 3 and plus 32 sidecars under usher (its sidecar flags), supervisord and
    s6-svscan (one s6-supervise per service, as in s6-overlay): start-up until every process
    runs, resident memory of the supervision tree (the supervisors' processes only), idle
    wake-ups and system calls, and the time from SIGTERM to PID 1's exit, when every process
    exits at once on SIGTERM and when the app ignores it (grace 2 s for each: --grace,
    stopwaitsecs, timeout-kill). Medians over runs."""
    USHER_FOR_MULTI[0] = usher
    kinds = ["usher"] + [k for k in ("supervisord", "s6-svscan") if shutil.which(k)]
    result = {"grace_s": MULTI_GRACE_S, "kinds": kinds}
    runs, idle = cfg["multi_runs"], cfg["idle_seconds"]
    with tempfile.TemporaryDirectory(prefix="usher-bench-") as tmp:
        for n in MULTI_SIDECARS:
            for kind in kinds:
                first = multi_once(kind, n, tmp, idle=idle)
                prompt = [first] + [multi_once(kind, n, tmp) for _ in range(runs - 1)]
                ignoring = [multi_once(kind, n, tmp, ignoring=True) for _ in range(runs)]
                # Stopping everything at once, without an order: usher as one pod of n + 1
                # regular containers; s6-svscan's own stop has no order; supervisord's has one.
                if kind == "usher":
                    unordered = ms(statistics.median(multi_once("usher-unordered", n, tmp)["stop_ns"]
                                                     for _ in range(runs)))
                elif kind == "s6-svscan":
                    unordered = ms(statistics.median(r["stop_ns"] for r in prompt))
                else:
                    unordered = None
                ordered = ms(statistics.median(r["stop_ns"] for r in prompt)) if kind != "s6-svscan" else None
                result[f"{kind}/{n}"] = {
                    "start_ms": ms(statistics.median(r["start_ns"] for r in prompt)),
                    "rss_kb": statistics.median(r["rss_kb"] for r in prompt),
                    "processes": first["processes"],
                    "stop_ms": ordered,
                    "stop_unordered_ms": unordered,
                    "stop_ignoring_ms": ms(statistics.median(r["stop_ns"] for r in ignoring)),
                    "wakeups": first["wakeups"], "syscalls": first["syscalls"], "idle_seconds": idle,
                    "runs": runs}
    return result


# --- the report -----------------------------------------------------------------------------

def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"kernel": platform.release(), "cpu": model, "nproc": os.cpu_count(),
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}


def versions(usher):
    """usher --version (with the binary's sha256 and the repository's commit) and the Debian
    package versions of the peers."""
    found = {}
    with open(usher, "rb") as f:
        found["usher_sha256"] = hashlib.sha256(f.read()).hexdigest()
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True, timeout=10)
    found["git_commit"] = r.stdout.strip() if r.returncode == 0 else "unknown"
    r = subprocess.run([usher, "--version"], capture_output=True, text=True, timeout=10)
    found["usher"] = r.stdout.strip().removeprefix("usher ")
    for package in ("tini", "dumb-init", "catatonit"):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                           capture_output=True, text=True, timeout=10)
        found[package] = r.stdout.strip() if r.returncode == 0 else "unknown"
    return found


def table_rows(r, names):
    """(figure, {supervisor: number or None}, format) for every figure all supervisors share."""
    rows = []

    def take(section, *path):
        if section not in r:
            return {n: None for n in names}
        values = {}
        for n in names:
            v = r[section].get(n)
            for key in path:
                v = v.get(key) if isinstance(v, dict) else None
            values[n] = v
        return values

    rows.append(("binary size, bytes", take("sizes", "bytes"), "{:,.0f}"))
    rows.append(("resident memory while idle (VmRSS), binary in the page cache (warm), kB",
                 take("memory_warm", "vmrss_kb"), "{:,.0f}"))
    rows.append(("resident memory while idle (VmRSS), binary evicted first (cold), kB",
                 take("memory", "vmrss_kb"), "{:,.0f}"))
    rows.append(("start-up `SUP -- true-static`, median ms", take("startup", "true_static", "median_ms"), "{:.3f}"))
    rows.append(("start-up `SUP -- true-static`, p90 ms", take("startup", "true_static", "p90_ms"), "{:.3f}"))
    rows.append(("start-up overhead over bare static true, median ms", take("startup", "overhead_ms"), "{:.3f}"))
    rows.append(("start-up `SUP -- /bin/true`, median ms", take("startup", "bin_true", "median_ms"), "{:.3f}"))
    rows.append(("start-up overhead over bare /bin/true, median ms", take("startup", "overhead_bin_true_ms"), "{:.3f}"))
    rows.append(("signal forwarding, p50 µs", take("signals", "p50_us"), "{:.1f}"))
    rows.append(("signal forwarding, p99 µs", take("signals", "p99_us"), "{:.1f}"))
    rows.append(("signal forwarding, first signal µs", take("signals", "first_us"), "{:.1f}"))
    rows.append(("system calls per forwarded signal", take("signal_syscalls", "per_signal"), "{:.1f}"))
    rows.append(("instructions per forwarded signal (callgrind, user space)", take("instructions", "per_signal"), "{:.1f}"))
    orphans, idle = r["counts"]["orphans"], r["counts"]["idle_seconds"]
    rows.append((f"reaping {orphans} orphans exiting at once, median ms", take("reaping", "median_ms"), "{:.2f}"))
    rows.append((f"system calls in {idle} s idle", take("idle", "syscalls"), "{:.0f}"))
    rows.append((f"wake-ups (context switches) in {idle} s idle", take("idle", "wakeups"), "{:.0f}"))
    return rows


def fmt(value, pattern):
    return "—" if value is None else pattern.format(value)


def ratio(a, b):
    if a is None or b is None:
        return "—"
    if b == 0:
        return "0/0" if a == 0 else "∞"
    return f"{a / b:.2f}×"


# The release binaries' targets (size, memory), as ratios to tini-static measured in the same run.
SIZE_TARGET = 0.5         # each release binary's size, amd64 and arm64
MEMORY_TARGET = 0.6       # resident memory as PID 1 with one child, warm, amd64


def release_targets(r):
    """The release targets, each a measured ratio with its verdict (the bench never fails on
    them: it reports)."""
    sizes, warm = r.get("sizes", {}), r.get("memory_warm", {})
    if "tini-static" not in sizes:
        return []
    tini = sizes["tini-static"]["bytes"]
    lines = ["", "Release targets (against tini-static in this run):", ""]
    for name, label in (("usher", "amd64"), ("usher-arm64", "arm64")):
        if name in sizes:
            q = sizes[name]["bytes"] / tini
            lines.append(f"- size, {label}: {sizes[name]['bytes']:,} bytes, {q:.3f}× tini-static's {tini:,} "
                         f"(target at most {SIZE_TARGET}×: {'met' if q <= SIZE_TARGET else 'NOT met'})")
    if "usher" in warm and "tini-static" in warm:
        q = warm["usher"]["vmrss_kb"] / warm["tini-static"]["vmrss_kb"]
        lines.append(f"- resident memory, warm, amd64: {warm['usher']['vmrss_kb']:,.0f} kB, {q:.3f}× tini-static's "
                     f"{warm['tini-static']['vmrss_kb']:,.0f} kB (target at most {MEMORY_TARGET}×: "
                     f"{'met' if q <= MEMORY_TARGET else 'NOT met'})")
    cold = r.get("memory", {})
    if "usher" in cold and "tini-static" in cold:
        q = cold["usher"]["vmrss_kb"] / cold["tini-static"]["vmrss_kb"]
        lines.append(f"- resident memory, cold (binary evicted before each run), amd64: "
                     f"{cold['usher']['vmrss_kb']:,.0f} kB, {q:.3f}× tini-static's {cold['tini-static']['vmrss_kb']:,.0f} kB")
    return lines


SINGLE_PEERS = ("tini-static", "tini", "dumb-init", "catatonit")


def verdict(q, target=1.0):
    return "met" if q <= target else f"NOT met, {q / target - 1:.0%} over"


def peer_targets(r):
    """The performance targets, each a measured ratio against the best peer of the same run, with
    its verdict (the bench never fails on them)."""
    lines = ["", "Targets against the best peer (usher over the best peer in this run; at most 1.00× is met):", ""]

    def against_best(label, section, key):
        v = r.get(section, {})
        peers = {p: v[p][key] for p in SINGLE_PEERS if p in v and v[p].get(key) is not None}
        if "usher" not in v or not peers:
            return
        best = min(peers, key=peers.get)
        q = v["usher"][key] / peers[best] if peers[best] else float("inf")
        lines.append(f"- {label}: usher {v['usher'][key]:g}, best peer {best} {peers[best]:g}: "
                     f"{q:.2f}× ({verdict(q)})")

    against_best("signal forwarding p50, µs", "signals", "p50_us")
    against_best("signal forwarding p99, µs", "signals", "p99_us")
    against_best("first forwarded signal (median over rounds of fresh supervisors), µs", "signals", "first_us")
    against_best("reaping orphans exiting at once, median ms", "reaping", "median_ms")
    ins = r.get("instructions", {})
    if "usher" in ins and "tini-static" in ins:
        q = ins["usher"]["per_signal"] / ins["tini-static"]["per_signal"]
        lines.append(f"- instructions per forwarded signal (callgrind): usher {ins['usher']['per_signal']:g}, "
                     f"tini-static {ins['tini-static']['per_signal']:g}: {q:.2f}× ({verdict(q)})")
    a = r.get("allocations")
    if a:
        ok = a["signals"]["allocations"][0] == a["signals"]["allocations"][1] and \
            a["orphans"]["allocations"][0] == a["orphans"]["allocations"][1]
        lines.append(f"- no heap allocation per forwarded signal or reaped orphan: "
                     f"{'met' if ok else 'NOT met'} (counts below)")
    m = r.get("multiprocess")
    if m:
        for n in MULTI_SIDECARS:
            for key, label in MULTI_FIGURES:
                # A peer that cannot express the scenario (None: s6 has no stop order,
                # supervisord no unordered stop) is no peer for that figure.
                peers = {k: m[f"{k}/{n}"].get(key) for k in m["kinds"][1:] if f"{k}/{n}" in m}
                peers = {k: v for k, v in peers.items() if v is not None}
                if f"usher/{n}" not in m or not peers or m[f"usher/{n}"].get(key) is None:
                    continue
                u = m[f"usher/{n}"][key]
                best = min(peers, key=peers.get)
                if peers[best] == 0:
                    q_text = "0/0, equal" if u == 0 else "∞"
                    met = u == 0
                else:
                    q = u / peers[best]
                    q_text, met = f"{q:.2f}×", q <= 1
                lines.append(f"- app + {n} sidecars, {label}: usher {u:g}, best peer {best} {peers[best]:g}: "
                             f"{q_text} ({'met' if met else 'NOT met'})")
    return lines if len(lines) > 3 else []


MULTI_FIGURES = (
    ("rss_kb", "resident memory of the supervision tree, kB"),
    ("start_ms", "start to every process running, median ms"),
    ("stop_ms", "SIGTERM to the supervisor's exit, all exit at once, stopped in order (app, then sidecars in reverse), median ms"),
    ("stop_unordered_ms", "SIGTERM to the supervisor's exit, all exit at once, stopped together without order, median ms"),
    ("stop_ignoring_ms", "SIGTERM to exit, the app ignores SIGTERM, median ms"),
    ("wakeups", "wake-ups (context switches) while idle"),
    ("syscalls", "system calls while idle"),
)


# What a peer cannot express, in the cell of its figure.
CANNOT = {
    ("s6-svscan", "stop_ms"): "cannot: no stop order",
    ("supervisord", "stop_unordered_ms"): "not measured: it stops in priority order",
}


def multiprocess_tables(r):
    m = r.get("multiprocess")
    if not m:
        return []
    kinds = m["kinds"]
    idle = next(iter(v["idle_seconds"] for k, v in m.items() if isinstance(v, dict) and "idle_seconds" in v), 0)
    out = ["", f"Multi-process supervision: an app plus N sidecars, every one `child sigack` (exits at once "
           f"on SIGTERM); idle figures over {idle} s; grace {m['grace_s']} s for each supervisor "
           f"(usher --grace, supervisord stopwaitsecs, s6 timeout-kill). Supervision tree: usher alone; "
           f"supervisord's python process; s6-svscan and one s6-supervise per process.", ""]
    for n in MULTI_SIDECARS:
        cols = [k for k in kinds if f"{k}/{n}" in m]
        out += [f"| app + {n} sidecars | " + " | ".join(cols) + " | " +
                " | ".join(f"usher/{k}" for k in cols[1:]) + " |",
                "|---" * (1 + len(cols) + len(cols) - 1) + "|"]
        out.append("| supervisor processes | " + " | ".join(str(m[f"{k}/{n}"]["processes"]) for k in cols) +
                   " |" + " |" * (len(cols) - 1))
        for key, label in MULTI_FIGURES:
            vals = [m[f"{k}/{n}"].get(key) for k in cols]
            out.append(f"| {label} | " + " | ".join(CANNOT.get((k, key), "n/a") if v is None else
                                                    f"{v:,.3f}".rstrip("0").rstrip(".") for k, v in zip(cols, vals)) +
                       " | " + " | ".join("" if v is None or vals[0] is None else ratio(vals[0], v)
                                          for v in vals[1:]) + " |")
        out.append("")
    out += ["What each does on SIGTERM, as measured above: usher stops the app first, then the sidecars in "
            "reverse start order, SIGKILL to whatever still runs at its one deadline (--grace), and exits; "
            "the unordered row runs the same processes as one pod's regular containers (`usher -f`), "
            "which the kubelet and usher stop all at once. "
            "supervisord stops its programs in reverse priority order (the app first here, as usher), each "
            "given its own stopwaitsecs before SIGKILL, so the deadlines add up along the order rather than "
            "being one; it notices exits on a 1 s select timeout. s6-svscan on SIGTERM tells every "
            "s6-supervise to bring its service down, all at once (no order), each SIGKILLing its own "
            "service after timeout-kill; it has no overall deadline either: a service without "
            "timeout-kill keeps it waiting forever."]
    return out


def render_markdown(r):
    names = list(r["supervisors"])
    peers = names[1:]
    m = r["machine"]
    out = [f"# usher benchmark ({r['mode']} mode)", "",
           f"Machine: Linux {m['kernel']}, {m['cpu']}, nproc {m['nproc']}; load average "
           f"{' '.join(m['loadavg_start'])} at start, {' '.join(m['loadavg_end'])} at end. "
           f"Run took {r['seconds']:.0f} s.",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()
                                    if k != "usher_sha256") + ".", ""]
    sizes = r.get("sizes", {})
    out += ["| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    rows = table_rows(r, names)
    if r["mode"].startswith("only"):  # the named steps' own sections, no comparison tables
        rows = []
    for figure, values, pattern in rows:
        cells = []
        for n in names:
            cell = fmt(values[n], pattern)
            if figure.startswith("binary") and n in sizes:
                cell += " (static)" if sizes[n]["static"] else " (dynamic)"
            cells.append(cell)
        out.append(f"| {figure} | " + " | ".join(cells) + " |")
    if rows:
        out += ["", "Ratios, usher's figure over each peer's (below 1× is usher smaller or faster):", "",
                "| figure | " + " | ".join(f"usher/{p}" for p in peers) + " |",
                "|---" * (len(peers) + 1) + "|"]
        for figure, values, pattern in rows:
            out.append(f"| {figure} | " + " | ".join(ratio(values["usher"], values[p]) for p in peers) + " |")
        out += release_targets(r)
        out += peer_targets(r)
    if "startup" in r:
        b = r["startup"]["baseline"]
        out += ["", f"Start-up baselines: bare static true median {b['true_static']['median_ms']:.3f} ms "
                f"(p90 {b['true_static']['p90_ms']:.3f}), bare /bin/true median "
                f"{b['bin_true']['median_ms']:.3f} ms (p90 {b['bin_true']['p90_ms']:.3f})."]
    if "signal_syscalls" in r:
        out += ["", "System calls per forwarded signal, by name: " + "; ".join(
            f"{n} " + " + ".join(f"{call} {v:g}" for call, v in sorted(r["signal_syscalls"][n]["by_name"].items()))
            for n in names if n in r["signal_syscalls"]) + "."]
    if "deadlines" in r:
        d = r["deadlines"]
        out += ["", "usher only, lateness after its deadlines (target: p99 under 5 ms):", "",
                "| figure | p50 ms | p99 ms | max ms | runs |", "|---|---|---|---|---|"]
        for key, label in (("sigkill_after_grace", f"SIGKILL to main after `--grace {d['grace_ms']}ms`"),
                           ("exit_after_grace", f"usher's exit after `--grace {d['grace_ms']}ms`"),
                           ("stop_signal_after_pre_stop", f"SIGTERM to main after `--pre-stop {d['pre_stop_ms']}ms`")):
            v = d[key]
            out.append(f"| {label} | {v['p50_ms']:.3f} | {v['p99_ms']:.3f} | {v['max_ms']:.3f} | {v['runs']} |")
        v, t = d["observer"], d["timer"]
        out += ["", f"For scale: a plain timerfd + epoll_wait loop on this machine wakes p50 "
                f"{t['p50_ms']:.3f} ms, p99 {t['p99_ms']:.3f} ms late. Of the SIGKILL and exit figures, "
                f"the measurement's own share (the driver SIGKILLs a plain process and waits for its "
                f"pidfd) is p50 {v['p50_ms']:.3f} ms, p99 {v['p99_ms']:.3f} ms. The pre-stop figure is "
                f"the child's own clock in its handler."]
    if "sidecars" in r:
        out += ["", "usher only, how cost grows: shutdown of N sidecars + main that exit at once on SIGTERM "
                "(median ms; baseline: a C loop kills the same N + 1 processes one after another in reverse, "
                "waiting for each), and usher's resident memory with them running:", "",
                "| N | usher, SIGTERM to exit | baseline | usher − baseline | per process (N + 1) | "
                "usher VmRSS, kB | per extra sidecar, kB |",
                "|---|---|---|---|---|---|---|"]
        for n, v in r["sidecars"].items():
            per = v.get("rss_per_sidecar_kb")
            out.append(f"| {n} | {v['usher_ms']:.3f} | {v['baseline_ms']:.3f} | {v['added_ms']:.3f} | "
                       f"{v['added_per_process_ms']:.3f} | {v.get('rss_kb', 0):,.0f} | "
                       f"{'—' if per is None else f'{per:.2f}'} |")
    out += multiprocess_tables(r)
    if "allocations" in r:
        a = r["allocations"]
        out += ["", "usher's heap allocations (calls of malloc and its kin, counted by callgrind in dist/usher's "
                "unstripped twin, from start to exit): "
                f"{a['signals']['allocations'][0]} with {a['signals']['counts'][0]} forwarded signals, "
                f"{a['signals']['allocations'][1]} with {a['signals']['counts'][1]:,}; "
                f"{a['orphans']['allocations'][0]} reaping {a['orphans']['counts'][0]} orphans, "
                f"{a['orphans']['allocations'][1]} reaping {a['orphans']['counts'][1]:,}."]
    out += ["", "Notes:", "",
            "- Binary size: the file alone; a dynamic binary also needs the shared libc, not counted.",
            "- All figures except start-up: each supervisor as PID 1 of its own pid namespace "
            "(`unshare --pid --fork --mount-proc`). Start-up runs the supervisor directly (not as PID 1): "
            "tini then prints a warning (to /dev/null) and usher makes itself a subreaper.",
            "- Every binary is copied into Tests/Benchmarks/.out/bin at the start and run from there. "
            "Memory is read 0.3 s after the child started (usher drops its start-up code mappings "
            "after spawning). Warm: the binary was evicted and run once, then the measured runs find "
            "it in the page cache, as every running container does. Cold: each run starts with the "
            "binary evicted. A process's resident set counts the page-cache folios it maps, whose "
            "size depends on how the file was read, so the two differ.",
            "- usher is the release binary (musl); usher-glibc, when shown, is the same build linked "
            "against glibc instead: the usher/usher-glibc column is what musl costs or saves.",
            "- Signal forwarding: SIGUSR1 sent from the parent namespace to the supervisor; dumb-init "
            "forwards it to the child's process group, the others to the child. The supervisors run "
            "side by side, taking turns signal by signal, in rounds of fresh supervisors (each first "
            "in turn, the others in a new seeded order each round, so that none is always behind the "
            "same one); the first signal of each round is also shown alone (median over rounds): it "
            "may fault in pages.",
            "- Reaping: orphans double-forked by the main child, reparented to PID 1, released together "
            "through one pipe; done when PID 1's children list (zombies included) is the main child "
            "alone; polled every ~0.2 ms. No zombie was left in any run (checked).",
            "- Idle: wake-ups are context switches over the window with no tracer attached; system calls "
            "by `strace -c -f -p` over a second window. tini wakes once a second (sigtimedwait with a "
            "1 s timeout, then waitpid).",
            "- Sidecars: usher is timed from the SIGTERM the driver sends it to its exit, seen through a "
            "pidfd; the baseline inside the C probe. The N = 0 row (main alone) is the fixed part: "
            "SIGTERM reaching usher, usher's exit as PID 1 and the driver's wake-up."]
    if r["errors"]:
        out += ["", "Errors (measurements that broke):", ""]
        out += [f"- {k}: {v}" for k, v in r["errors"].items()]
    return "\n".join(out) + "\n"


# --- main -----------------------------------------------------------------------------------

def check_prerequisites(sups):
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (pid namespaces, strace -p)")
    missing = [p for p in [CHILD, PROBE, TRUE_STATIC] + [s.path for s in sups] if not os.access(p, os.X_OK)]
    missing += [t for t in ("unshare", "strace", "timeout", "readelf", "sleep") if shutil.which(t) is None]
    if missing:
        raise SystemExit("bench: missing " + ", ".join(missing) + " (run.sh builds and installs them)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for CI (also BENCH_QUICK=1)")
    parser.add_argument("--usher", default=os.environ.get("USHER_BIN", os.path.join(REPO, "dist/usher")))
    parser.add_argument("--usher-glibc", default=os.environ.get("USHER_GLIBC_BIN"),
                        help="the same release build on glibc, measured beside usher (make bench builds it)")
    parser.add_argument("--usher-arm64", default=os.environ.get("USHER_ARM64_BIN"),
                        help="the arm64 release binary, for its size")
    parser.add_argument("--only", metavar="STEP,...",
                        help="run only these steps (e.g. sidecars: the growth table), with the peers "
                        "that are installed; writes results/only.{json,md}")
    parser.add_argument("--sidecar-counts", metavar="N,...",
                        help=f"the sidecars step's N values (default {','.join(map(str, SIDECAR_COUNTS))}; "
                        "the first is the fixed part the memory per sidecar is counted from)")
    parser.add_argument("--runs", type=int, help="the sidecars step's runs per N")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    cfg = {key: counts[1 if quick else 0] for key, counts in COUNTS.items()}
    if args.sidecar_counts:
        cfg["sidecar_counts"] = tuple(int(n) for n in args.sidecar_counts.split(","))
    if args.runs:
        cfg["sidecar_runs"] = args.runs
    installed = supervisors(os.path.abspath(args.usher), args.usher_glibc and os.path.abspath(args.usher_glibc))
    if args.only:  # usher and whichever peers are installed: a step of usher's alone needs none
        installed = installed[:1] + [s for s in installed[1:] if os.access(s.path, os.X_OK)]
    check_prerequisites(installed)
    sups = snapshot(installed)
    # A SIGTERM or Ctrl-C still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    mode = "quick" if quick else "full"
    if args.only:
        mode = f"only {args.only}, {mode} counts"
    r = {"mode": mode, "machine": machine(), "counts": cfg,
         "supervisors": [s.name for s in sups], "paths": {s.name: s.path for s in installed},
         "versions": versions(sups[0].path), "errors": {}}
    usher = sups[0].path
    steps = [
        ("sizes", lambda: measure_sizes(sups, cfg, args.usher_arm64)),
        ("memory_warm", lambda: measure_memory(sups, cfg, warm=True)),
        ("memory", lambda: measure_memory(sups, cfg)),
        ("startup", lambda: measure_startup(sups, cfg)),
        ("signals", lambda: measure_signals(sups, cfg)),
        ("signal_syscalls", lambda: measure_signal_syscalls(sups, cfg)),
        ("reaping", lambda: measure_reaping(sups, cfg)),
        ("idle", lambda: measure_idle(sups, cfg)),
        ("deadlines", lambda: measure_deadlines(usher, cfg)),
        ("sidecars", lambda: measure_sidecars(usher, cfg)),
        ("instructions", lambda: measure_instructions(sups, cfg, usher)),
        ("allocations", lambda: measure_allocations(usher, cfg)),
        ("multiprocess", lambda: measure_multiprocess(usher, cfg)),
    ]
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in dict(steps)]
        if unknown:
            raise SystemExit(f"bench: no step {', '.join(unknown)} (steps: {', '.join(n for n, _ in steps)})")
        steps = [(name, step) for name, step in steps if name in wanted]
    began = time.monotonic()
    try:
        for name, step in steps:
            t = time.monotonic()
            print(f"bench: {name} ...", end=" ", flush=True)
            try:
                r[name] = step()
                print(f"{time.monotonic() - t:.1f} s", flush=True)
            except Exception as e:  # a broken measurement: record it, go on, fail at the end
                r["errors"][name] = f"{type(e).__name__}: {e}"
                print(f"FAILED: {r['errors'][name]}", flush=True)
            except BaseException:  # Ctrl-C, SIGTERM: clean up (below) and write nothing
                print("interrupted", flush=True)
                raise
            finally:
                stop_all()
    finally:
        stop_all()
    r["seconds"] = time.monotonic() - began
    r["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    os.makedirs(RESULTS, exist_ok=True)
    base = "only" if args.only else "results"  # a partial run does not replace a full one
    with open(os.path.join(RESULTS, base + ".json"), "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    md = render_markdown(r)
    with open(os.path.join(RESULTS, base + ".md"), "w") as f:
        f.write(md)
    print(md)
    if r["errors"]:
        print(f"bench: {len(r['errors'])} measurement(s) broke: {', '.join(r['errors'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
