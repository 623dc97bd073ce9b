"""Shared pieces of the reliability tests (storms, misbehaving processes, exhaustion, security):
the C helpers built once per run, readers for /proc, and the storm's result files."""
import atexit
import os
import shutil
import subprocess
import tempfile
import time

import pytest

HELPERS = os.path.dirname(os.path.abspath(__file__))
_built = {}


def build_c(name):
    """helpers/NAME.c compiled once per run (static, so its start-up is cheap); returns the path."""
    if name not in _built:
        out = tempfile.mkdtemp(prefix=f"usher-{name}-")
        atexit.register(shutil.rmtree, out, True)
        path = os.path.join(out, name)
        src = os.path.join(HELPERS, f"{name}.c")
        flags = ["-O2", "-Wall", "-pthread", "-o", path, src]
        if subprocess.run(["gcc", "-static", *flags]).returncode != 0:
            subprocess.run(["gcc", *flags], check=True)
        _built[name] = path
    return _built[name]


@pytest.fixture(scope="session")
def storm():
    """The storm helper (helpers/storm.c): signal sender, counting main, orphan maker."""
    path = build_c("storm")
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    _built.pop("storm", None)


# --- /proc ------------------------------------------------------------------------------------

def status_field(pid, field):
    """A field of /proc/PID/status (the text after the colon), or None when pid is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def kib(pid, field):
    """VmRSS, VmHWM, ... of pid in KiB, or None when pid is gone."""
    v = status_field(pid, field)
    return int(v.split()[0]) if v else None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid):
    """pid exists and is not a zombie."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def pgid_members(pgid):
    """Every live (non-zombie) process whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def below(pid, word):
    """Pids (as seen from here) of the live processes below pid whose command line has the word
    `word` (an actor's name, say), parents first."""
    from conftest import descendants
    return [p for p in descendants(pid) if word.encode() in cmdline(p) and alive(p)]


def wait_until(predicate, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- storm result files -----------------------------------------------------------------------

def read_sent(path):
    """{"sent": {sig: (count, last_ns)}, "total": n, "took_ns": t, "max_sigq": q, "stopped_early": b}"""
    out = {"sent": {}}
    for line in open(path):
        w = line.split()
        if w[0] == "sent":
            out["sent"][int(w[1])] = (int(w[2]), int(w[3]))
        elif w[0] == "total":
            out.update(total=int(w[1]), took_ns=int(w[2]), max_sigq=int(w[3]), stopped_early=w[4] == "1")
    return out


def merge_sent(results):
    """Several senders' results as one: counts added, the latest last-send time kept."""
    sent = {}
    for r in results:
        for sig, (n, last) in r["sent"].items():
            c, l = sent.get(sig, (0, 0))
            sent[sig] = (c + n, max(l, last))
    return {"sent": sent, "total": sum(r["total"] for r in results),
            "took_ns": max(r["took_ns"] for r in results),
            "max_sigq": max(r["max_sigq"] for r in results),
            "stopped_early": any(r["stopped_early"] for r in results)}


def read_received(path):
    """The counting main's status file: {"recv": {sig: (count, last_ns, foreign)}, "forks": n,
    "orphans": n, "final": b}, or None before it is first written."""
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return None
    out = {"recv": {}, "forks": 0, "orphans": 0, "final": False}
    for line in lines:
        w = line.split()
        if w[0] == "recv":
            out["recv"][int(w[1])] = (int(w[2]), int(w[3]), int(w[4]))
        elif w[0] == "forks":
            out["forks"], out["orphans"] = int(w[1]), int(w[2])
        elif w[0] == "final":
            out["final"] = w[1] == "1"
    return out
