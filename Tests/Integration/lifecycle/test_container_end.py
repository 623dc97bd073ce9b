"""How a container's end is handled (and two texts that disagreed with what runs).

- A container ends with its leader, as the container runtime ends every process of a container:
  what its run left in its process group, or in its session (a member that made a group of its
  own), is killed when usher reaps the leader, before the container is restarted and before the
  next init entry starts, and the log says how many. In the pod's shutdown nothing waits on
  them, and they end with usher at the latest. As a subreaper nothing of any run outlives usher.
- A stop request while a main container waits for its restart (back-off) exits with that
  container's last status, not 0, and the log says it is not restarted.
- `--stop-is-success` counts only a main container that the stop signal usher sent after a stop
  request ended, not one that died of that signal before the request came.
- `usher check` says a failed init container makes usher exit 120 (README, "Exit status").
- A liveness failure under `restartPolicy: Never` is not logged as a restart.

Every test runs as PID 1 and as a subreaper where both apply. Without a terminal (as here) each
container's leader leads a session of its own (test_sessions.py)."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import USHER
from helpers.podfile import container, exec_probe, write_pod
from helpers.proc import alive, cmdline
from helpers.reliability import wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])

# A background worker for the containers' shells: it logs as the actor does (NAME EVENT DETAIL
# MONOTONIC_NS PID), with --own-group makes a process group of its own in its session first,
# binds PORT on 127.0.0.1 unless it is "-" (logging "bound" or "bind-failed ERRNO"), creates
# READY (a path unique to the run: logged as "ready", it finds the process from here, as PID 1's
# pids are the namespace's), and sleeps, ignoring SIGTERM.
HOLDER = r"""
import os, signal, socket, sys, time
name, log, port, ready = sys.argv[1:5]
def event(what, detail="-"):
    with open(log, "a") as f:
        f.write(f"{name} {what} {detail} {time.monotonic_ns()} {os.getpid()}\n")
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if "--own-group" in sys.argv:
    os.setpgid(0, 0)
event("start", str(os.getpgrp()))
if port != "-":
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", int(port)))
        s.listen()
        event("bound", port)
    except OSError as e:
        event("bind-failed", str(e.errno))
event("ready", ready)  # before the file: the shell exits when it sees the file, and the worker is then killed
open(ready, "w").close()
while True:
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path, events_log):
    """holder(name, port="-", own_group=False): a shell command line that starts the worker in
    the background and waits until it is set up (a ready file of its own per run)."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)

    def line(name, port="-", own_group=False):
        ready = f"{tmp_path}/{name}.ready.$$"
        extra = " --own-group" if own_group else ""
        return (f"{sys.executable} {script} {name} {events_log} {port} {ready}{extra} & "
                f"while [ ! -e {ready} ]; do sleep 0.01; done")
    return line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running(ready):
    """The live processes (pids as seen from here) that run the worker of the ready file `ready`."""
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and ready.encode() in cmdline(d) and alive(d)]


def readies(u):
    return [e[2] for e in u.find("worker", "ready")]


def assert_gone(paths, what):
    """Every worker of these ready files is gone (or a zombie) within 5 s."""
    assert wait_until(lambda: not any(running(p) for p in paths), 5), f"{what}: {[running(p) for p in paths]}"


# --- a container's leftovers -------------------------------------------------------------------

@MODES
def test_a_restarted_sidecar_finds_its_port_free_of_its_previous_runs_worker(usher, act, holder, pid1):
    """The sidecar's shell starts a worker that binds a port, then exits 1: it is restarted at
    once, and its next run's worker binds the same port. The previous run's worker, left in the
    sidecar's process group, was killed as the shell was reaped, before the restart; before
    that fix it kept the port, and every restart's worker failed with EADDRINUSE."""
    port = free_port()
    side = f"{holder('worker', port)}; exit 1"
    u = usher(["--sidecar", f"side=sh -c '{side}'", "--", *act("main")], pid1=pid1)
    u.wait_for(lambda: len(readies(u)) >= 2, timeout=10, what="two runs of the sidecar's worker to try the port")
    assert not u.find("worker", "bind-failed"), f"a restart's worker found the port taken: {u.events()}"
    assert_gone(readies(u)[:1], "the first run's worker is still running")
    left = [t for t in u.log_texts() if " left 1 process(es) behind in its process group or session: SIGKILL" in t]
    assert left and left[0].startswith("side["), u.stderr()
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()
    assert_gone(readies(u), "a worker outlived usher")


@MODES
def test_an_init_containers_background_process_in_a_group_of_its_own_ends_with_it(usher, act, holder, tmp_path, pid1):
    """An init container's shell starts a worker that moves into a process group of its own
    (still in the init container's session), then exits 0. The worker is killed when the init
    container is reaped, before the main container starts (the log says so, in that order);
    before that fix it ran for the pod's whole life."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    init=[container("init", ["sh", "-c", holder("worker", own_group=True) + "; exit 0"])],
                    containers=[container("main", act("main"))])
    u = usher(["-f", pod], pid1=pid1)
    u.wait_started("main")
    worker = u.first("worker", "start")
    ready = u.first("worker", "ready")[2]
    assert worker[2] == str(worker[4]), f"the worker did not make a group of its own: {worker}"
    assert_gone([ready], "the init container's worker runs on beside the main container")
    u.logged_starts(2)
    texts = u.log_texts()
    left = [k for k, t in enumerate(texts) if t.startswith("init[") and "left 1 process(es) behind" in t]
    main_started = [k for k, t in enumerate(texts) if t.startswith("main[") and t.endswith(" started")]
    assert left and left[0] < main_started[0], u.stderr()
    assert u.running()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()


def test_as_a_subreaper_no_run_of_a_restarted_container_outlives_usher(usher, act, holder):
    """A sidecar's shell leaves a worker that ignores SIGTERM in its group and exits 1, twice
    (the first restart is at once, the second waits 10s). After a stop usher has exited, and
    neither worker runs: before that fix only the last run's group was killed at usher's exit,
    and the first run's worker outlived it."""
    u = usher(["--sidecar", f"side=sh -c '{holder('worker')}; exit 1'", "--", *act("main")], pid1=False)
    u.wait_for(lambda: len(readies(u)) >= 2, timeout=10, what="two runs of the sidecar's worker")
    u.wait_for(lambda: any("side will be restarted in" in t for t in u.log_texts()), what="the second exit")
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()
    assert_gone(readies(u), "a run's worker outlived usher")


@MODES
def test_a_main_container_that_is_done_leaves_nothing_running_beside_the_others(usher, act, holder, tmp_path, pid1):
    """restartPolicy Never, two main containers: "a" is a shell that leaves a worker and exits 0,
    "b" runs on. a's worker is killed as a is reaped (logged); before that fix it ran until the
    pod ended."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("a", ["sh", "-c", holder("worker") + "; exit 0"]),
                                container("b", act("b"))])
    u = usher(["-f", pod], pid1=pid1)
    u.wait_started("b")
    u.wait_for(lambda: readies(u), what="a's worker")
    assert_gone(readies(u), "a's worker runs on beside b")
    u.wait_for(lambda: any(t.startswith("a[") and "left 1 process(es) behind" in t for t in u.log_texts()),
               what="the log of a's worker killed")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()


@MODES
@pytest.mark.parametrize("own_group", [False, True], ids=["in-its-group", "in-a-group-of-its-own"])
def test_in_a_shutdown_the_mains_leftovers_hold_nothing_back(usher, act, holder, pid1, own_group):
    """The main container is a shell that runs the actor and leaves a worker that ignores
    SIGTERM, in the shell's group or in a group of its own in the shell's session. At the stop
    the shell dies of SIGTERM: the sidecar gets its stop signal at once, nothing waits for the
    worker, usher exits long before the 10s deadline, and the worker does not outlive it (the
    choice for the shutdown: what a main leaves ends with usher, as a container's processes end
    with its PID 1). Before the session sweep, as a subreaper, the worker in a group of its own
    outlived usher."""
    main = f"{holder('worker', own_group=own_group)}; {act.line('main')}"
    u = usher(["--grace", "10s", "--sidecar", "side=" + act.line("side"), "--", "sh", "-c", main], pid1=pid1)
    u.wait_started("side", "main")
    u.wait_for(lambda: readies(u), what="the main's worker")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()
    assert (u.ended_at - sent) / 1e9 < 5, "the shutdown waited"
    assert_gone(readies(u), "the main's worker outlived usher")


# --- a stop during a restart back-off ------------------------------------------------------------

@MODES
@pytest.mark.parametrize("policy", ["OnFailure", "rules"])
def test_a_stop_during_a_mains_restart_back_off_exits_with_its_last_failure(usher, act, tmp_path, policy, pid1):
    """The main fails (3) twice: restarted at once, then it waits 10s for its restart. SIGTERM
    then: usher exits 3 and says the main is not restarted (and so does its termination
    message); before that fix it exited 0, as if the work had succeeded."""
    fields = ({"restartPolicy": "Never", "restartPolicyRules": [{"action": "Restart", "exitCodes": {"operator": "In", "values": [3]}}]}
              if policy == "rules" else {})
    pod = write_pod(tmp_path, restartPolicy="OnFailure" if policy == "OnFailure" else "Never",
                    containers=[container("work", act("work", "--exit-after", 50, "--code", 3), **fields)])
    message = tmp_path / "termination"
    u = usher(["-f", pod, "--termination-log", str(message)], pid1=pid1)
    u.wait_for(lambda: any("work will be restarted in 10s" in t for t in u.log_texts()), what="the back-off")
    u.signal(signal.SIGTERM)
    assert u.wait() == 3, u.stderr()
    assert any(t.startswith("work is not restarted: the shutdown began during its restart back-off")
               and "status 3" in t for t in u.log_texts()), u.stderr()
    assert "usher exited with status 3" in message.read_text()


# --- --stop-is-success and a main that ended before the request ----------------------------------

@MODES
def test_stop_is_success_does_not_count_a_main_that_died_of_the_signal_before_the_request(usher, act, pid1):
    """The main kills itself with SIGTERM; the sidecar then gets its stop signal and takes 1.5s
    to exit; a stop request arrives meanwhile. usher exits 143: the main was not ended by a stop
    usher sent after a request (before that fix, the request made it 0)."""
    u = usher(["--stop-is-success", "--sidecar", "side=" + act.line("side", "--linger", 1500, "--code", 0),
               "--", "sh", "-c", "sleep 0.2; kill -TERM $$"], pid1=pid1)
    u.wait_for(lambda: u.find("side", "signal", "15"), what="the sidecar's stop signal")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()


# --- the texts -------------------------------------------------------------------------------------

def test_check_says_a_failed_init_container_exits_120(tmp_path):
    """`usher check` tells the same story as the exit status table: 120, not "its status"."""
    pod = write_pod(tmp_path, init=[container("prepare", ["true"])], containers=[container("app", ["true"])])
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    r = subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "a failure stops the startup; usher exits with 120" in r.stdout, r.stdout


@MODES
def test_a_liveness_kill_under_never_is_not_logged_as_a_restart(usher, act, tmp_path, pid1):
    """restartPolicy Never: the main fails its liveness probe once and is stopped, and not
    restarted; the log says so instead of "is stopped to be restarted"."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("app", act("app"), livenessProbe=exec_probe(["false"], period=1, failures=1))])
    u = usher(["-f", pod], pid1=pid1)
    assert u.wait(timeout=20) == 143, u.stderr()
    assert len(u.find("app", "start")) == 1
    assert any(t.startswith("app[") and t.endswith("is stopped and not restarted (restart policy Never): "
                                                   "its liveness probe failed") for t in u.log_texts()), u.stderr()
    assert not any("is stopped to be restarted" in t for t in u.log_texts()), u.stderr()
