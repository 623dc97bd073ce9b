"""Reading processes from /proc, from this (the tests') pid namespace; and starting a program as
PID 1 of a pid namespace of its own without the Usher class (for strace and memory readings)."""
import os
import subprocess
import time


def stat_fields(pid):
    """/proc/PID/stat after the command name: [state, ppid, pgrp, session, ...] (proc(5) fields 3
    onwards), or None when pid is gone. The name is skipped by its last ')': it may hold spaces."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(")") + 2:].split()


def state(pid):
    """The state letter of pid (R, S, Z, ...), or None when it is gone."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def alive(pid):
    """pid exists and is not a zombie."""
    return state(pid) not in (None, "Z")


def ppid(pid):
    """pid's parent (as this namespace numbers it), or None when pid is gone."""
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def pgid_members(pgid):
    """Every live (non-zombie) process whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            fields = stat_fields(d)
            if fields and int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d))
    return out


def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def start_pid1(argv):
    """Starts argv as PID 1 of a new pid namespace, output discarded, and waits until it has
    started a child of its own; returns (the unshare process, PID 1's pid as seen from here)."""
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc"] + argv,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            children = open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split()
        except FileNotFoundError:
            children = []
        if children and os.path.exists(f"/proc/{children[0]}/status"):
            if open(f"/proc/{children[0]}/task/{children[0]}/children").read().split():
                return outer, int(children[0])
        time.sleep(0.02)
    outer.kill()
    raise AssertionError(f"{argv[0]} did not start its child")


def stop_pid1(outer, pid):
    """SIGKILL to a PID 1 from start_pid1 (the kernel then kills its namespace), and waits."""
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    outer.wait(timeout=10)
