"""Shared pieces of the reliability tests (storms, misbehaving processes, exhaustion, security):
the storm helper, readers of /proc/PID/status, waiting, and the storm's result files. (The C
builder is helpers/programs.py; /proc/PID/stat is read by helpers/proc.py.)"""
import os
import time

import pytest

from helpers.proc import alive, cmdline
from helpers.programs import build_c


@pytest.fixture(scope="session")
def storm():
    """The storm helper (helpers/storm.c): signal sender, counting main, orphan maker."""
    return build_c("storm.c")


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
