"""Whom an OOM kill is credited to. The cgroup's oom_kill count is the whole container's: a growth
is credited to a child usher started only when it was seen at that child's own death, a SIGKILL
usher did not send. Growth seen at any other death (a worker of the main that was reparented to
usher, say) is logged as "an OOM kill in the container" with no process named, and a later SIGKILL
from outside (an operator's `kill -9` of a sidecar) is not taken for the OOM killer. The limit is
labelled by its cgroup version's name: memory.limit_in_bytes on v1, memory.max on v2.

usher runs in a 64 MiB memory cgroup of the test's own (helpers/memcg.py; the tests skip with
the reason where none can be made). The main's worker is a hog (helpers/hog.c) started as a
daemon: `( hog & )` from a shell that then execs the main, so the worker is no child usher
started and is reparented to usher, which reaps it when the OOM killer has ended it."""
import os
import signal

import pytest

from conftest import descendants
from helpers.memcg import LIMIT_SHOWN, hog_argv, host_pid, limit_label, memory_cgroup, oom_lines  # noqa: F401

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
IN_CONTAINER = "an OOM kill in the container"


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return None


def main_with_a_worker(act, hog, events_log):
    """The main: a shell that starts the hog `worker` as a daemon, then execs the actor `main`."""
    worker = " ".join(hog_argv(hog, events_log, "worker"))
    return ["sh", "-c", f"( {worker} & ); exec {act.line('main')}"]


def worker_oom_killed_and_reaped(u, cg):
    """Waits until the OOM killer has ended the worker and usher has reaped it (a zombie keeps its
    comm, so no `hog` below usher means reaped); returns the cgroup's oom_kill count then."""
    u.wait_started("worker", "main", timeout=30)
    u.wait_for(lambda: not any(comm(p) == "hog" for p in descendants(u.proc.pid)), timeout=30,
               what="the worker's end")
    assert not u.find("worker", "survived"), "the worker got all its memory: no OOM kill to attribute"
    kills = cg.oom_kills()
    assert kills >= 1, f"the worker ended, but the cgroup counts no OOM kill:\n{u.stderr()}"
    return kills


def sigkill_deaths(u, name):
    return [t for t in u.log_texts() if t.startswith(name + "[") and "exited with signal SIGKILL" in t]


def kill_9(u, name):
    """SIGKILL from outside to the running `name`, then waits for usher to log its death."""
    before = len(sigkill_deaths(u, name))
    os.kill(host_pid(u, name), signal.SIGKILL)
    u.wait_for(lambda: len(sigkill_deaths(u, name)) > before, timeout=10, what=f"usher to log {name}'s SIGKILL death")


@MODES
def test_a_workers_oom_kill_is_not_credited_to_a_later_kill_9_of_a_sidecar(usher, act, hog, events_log,
                                                                          memory_cgroup, tmp_path, pid1):
    """Guards: growth of the cgroup-wide oom_kill count seen when an untracked worker died was
    kept and credited to the next SIGKILL death of a tracked child (an operator's kill -9 of a
    sidecar logged, and put in the termination message, as killed by the OOM killer). The
    growth is reported at the worker's death, naming no process, and the sidecar's kill -9 is
    only a SIGKILL."""
    cg = memory_cgroup()
    message = tmp_path / "termination-log"
    u = usher(["--termination-log", str(message), "--sidecar", "side=" + act.line("side"),
               "--", *main_with_a_worker(act, hog, events_log)], pid1=pid1, preexec_fn=cg.enter_and_setsid)
    u.wait_started("side")
    kills = worker_oom_killed_and_reaped(u, cg)
    kill_9(u, "side")
    assert cg.oom_kills() == kills, "something else ran out of memory: the test shows nothing"
    assert not any(l.startswith("side[") for l in oom_lines(u)), \
        f"an operator's kill -9 of the sidecar was taken for the OOM killer:\n{u.stderr()}"
    container_lines = [t for t in u.log_texts() if t.startswith(IN_CONTAINER)]
    assert container_lines, f"the worker's OOM kill is not reported:\n{u.stderr()}"
    assert all(LIMIT_SHOWN.search(t) for t in container_lines), u.stderr()
    u.wait_started("side")  # restarted at once (its first restart)
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 143, u.stderr()
    text = message.read_text()
    assert "killed by the OOM killer: a process of the container" in text and "side" not in text, text


@MODES
def test_a_tracked_childs_own_oom_kill_is_still_named(usher, act, hog, events_log, memory_cgroup, tmp_path, pid1):
    """Guards the other side: after an OOM kill in the container (the worker's) and an
    operator's kill -9 of the sidecar, the sidecar's next run runs out of memory itself: that
    kill, seen at its own death, is credited to it by name."""
    cg = memory_cgroup()
    marker = tmp_path / "killed-once"
    side = (f"sh -c 'if [ -e {marker} ]; then exec {' '.join(hog_argv(hog, events_log, 'greedy'))}; fi; "
            f"touch {marker}; exec {act.line('side')}'")
    u = usher(["--sidecar", "side=" + side, "--", *main_with_a_worker(act, hog, events_log)],
              pid1=pid1, preexec_fn=cg.enter_and_setsid)
    u.wait_started("side")
    kills = worker_oom_killed_and_reaped(u, cg)
    kill_9(u, "side")
    # Restarted at once, now as the hog: the OOM killer ends it (a SIGKILL death usher logs).
    u.wait_started("greedy", timeout=30)
    u.wait_for(lambda: len(sigkill_deaths(u, "side")) >= 2, timeout=30, what="the sidecar's second SIGKILL death")
    assert cg.oom_kills() == kills + 1, f"the sidecar's second run was not OOM-killed:\n{u.stderr()}"
    named = [l for l in oom_lines(u) if l.startswith("side[")]
    assert len(named) == 1, f"exactly the sidecar's own OOM kill must be named:\n{u.stderr()}"
    greedy_pid = u.first("greedy", "start")[4]
    assert named[0].startswith(f"side[{greedy_pid}] "), u.stderr()
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 143, u.stderr()


@MODES
def test_the_limit_is_labelled_by_its_cgroup_versions_name(usher, hog, events_log, memory_cgroup, pid1):
    """Guards: the limit of a cgroup v1 memory controller was labelled `memory.max` (v2's
    name); it is memory.limit_in_bytes there. (On a cgroup v2 machine this checks memory.max.)"""
    cg = memory_cgroup()
    u = usher(["--", *hog_argv(hog, events_log, "main")], pid1=pid1, preexec_fn=cg.enter_and_setsid)
    assert u.wait(timeout=60) == 137, u.stderr()
    right, wrong = limit_label(cg)
    lines = [l for l in oom_lines(u) if l.startswith("hog[")]
    assert lines, f"no OOM line for the main process:\n{u.stderr()}"
    assert all(f"({right} " in l and wrong not in l and LIMIT_SHOWN.search(l) for l in lines), \
        f"cgroup v{cg.version}'s limit must be labelled {right}:\n{u.stderr()}"
