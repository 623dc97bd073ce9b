"""Fixtures for running dist/usher for real: as PID 1 of a new pid namespace (unshare), or
directly (then usher is a child subreaper), with the `actor` helper playing app and sidecars.

The tests, by concern (pytest finds this file and helpers/ from every folder):
  cli/          the command line, exit statuses, usher's own output and working directory
  lifecycle/    start, stop, forwarding, reaping, sessions and terminals, pid reuse, a
                container's end, signal dispositions
  output/       the lifecycle log (text, JSON) and --prefix: labelling, backpressure, last lines
  pod/          `usher -f POD`: the pod file, startup, restarts, shutdown, env, probes, examples
  parity/       one manifest per kubelet rule (hooks, probes, restart policy, termination, validation)
  rehearse/     `usher rehearse`
  operators/    what operators read: the status file, sd_notify, the termination message, OOM kills
  security/     hostile input, privileges, files a container controls
  reliability/  storms, resource exhaustion, threads, allocations
  engine/       podman: usher as a container's PID 1 and as the engine's --init
  release/      the release binary and folder (release/test_release.py: make release-check only)
  helpers/      the C helpers and their one builder (programs.py), /proc readers (proc.py), the
                podman harness (engine.py), pod files (podfile.py), HTTP servers and the rest"""
import fcntl
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time

import pytest

from helpers.engine import ctr, dockerfile, engine, example_image, hog  # noqa: F401 (podman fixtures, for every test)
from helpers.proc import state
from helpers.programs import build_c

HERE = os.path.dirname(os.path.abspath(__file__))  # Tests/Integration, whichever folder a test is in
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository
HELPERS = os.path.join(HERE, "helpers")
USHER = os.environ.get("USHER_BIN", os.path.join(ROOT, "dist/usher"))


def controlling_terminal(slave):
    """A preexec_fn: the child leads a new session whose controlling terminal is the pty `slave`
    (as a login shell's session is), whatever its stdin is."""
    def setup():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    return setup


def with_controlling_terminal(slave_fd):
    """Usher(wrap=...) words that do the same inside the pid namespace, then exec usher: usher is
    PID 1, leads its session and its group there, and has the pty as its controlling terminal.
    Pass pass_fds=(slave_fd,) too."""
    script = ("import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(int(sys.argv[1]), termios.TIOCSCTTY, 0); "
              "os.execv(sys.argv[2], sys.argv[2:])")
    return [sys.executable, "-c", script, str(slave_fd)]


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z usher: ")

# --- usher under emulation (make integration-arm64) --------------------------------------------
# USHER_QEMU=aarch64: USHER_BIN is a wrapper that execs qemu-aarch64-static on the arm64 binary.
# usher then runs emulated (the programs it starts run natively), which some tests cannot hold.
# Each such test is listed here, by its path below Tests/Integration and its name (a whole file,
# every parametrization of a test, or one), with its reason; it is skipped with that reason on
# that architecture only. An entry that names a file that does not exist, or no test of a
# collected file, is an error, so the list cannot outlive (or lose) the tests it names.
EMULATED = os.environ.get("USHER_QEMU", "")
_PIDS = ("pid numbers: qemu-user takes a pid for a thread of its own, in usher and in each child it "
         "forks, so children are not numbered 2, 3, 4")
_EXEC = ("a failed exec: qemu-user runs vfork as a fork, so usher cannot see the child's exec fail "
         "(no shared memory) and reports the child's exit 127 instead")
_SUBREAPER = "qemu-user 7.2 refuses PR_SET_CHILD_SUBREAPER (EINVAL): orphans go to the real init"
_PODMAN = "podman cannot run arm64 containers here (no binfmt_misc): podman tests are amd64-only"
_FDS = "descriptor limits: qemu-user holds descriptors of its own, which a limit sized for usher does not fit"
# qemu-user keeps these four signals for its own emulation (a guest fault arrives as one): sent
# to the process from outside, they are taken by qemu and never reach the emulated usher.
_QEMU_FAULTS = "qemu-user takes SIGSEGV, SIGBUS, SIGFPE and SIGILL sent from outside for its own emulation"
QEMU_SKIPS = {
    "security/test_container_files.py::test_a_link_that_stays_inside_the_volume_is_followed_with_the_users_rights":
        "qemu-user 7.2 has no openat2 (ENOSYS): the O_NOFOLLOW walk that stands in for it refuses every link "
        "below the volume, by design (the other env-file tests run that walk here)",
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGSEGV-pid1]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGSEGV-subreaper]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGBUS-pid1]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGBUS-subreaper]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGFPE-pid1]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGFPE-subreaper]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGILL-pid1]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_kill_is_forwarded[SIGILL-subreaper]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_sigqueue_is_forwarded[SIGSEGV-pid1]": _QEMU_FAULTS,
    "lifecycle/test_fault_signals.py::test_a_fault_signal_sent_with_sigqueue_is_forwarded[SIGSEGV-subreaper]": _QEMU_FAULTS,
    "engine/test_container.py": "podman cannot run arm64 containers here (no binfmt_misc): podman tests are amd64-only",
    "pod/test_pod_examples.py::test_pod_with_sidecars_image_runs_the_manifest_in_podman":
        "podman cannot run arm64 containers here (no binfmt_misc): podman tests are amd64-only",
    "engine/test_engine_init.py": _PODMAN,
    "engine/test_restricted.py": _PODMAN,
    "operators/test_status.py::test_usher_status_is_the_healthcheck_and_exec_probe_of_its_container": _PODMAN,
    "operators/test_oom.py::test_in_podman_with_a_memory_limit_the_oom_killed_main_is_named": _PODMAN,
    "operators/test_oom_attribution.py::test_a_workers_oom_kill_is_not_credited_to_a_later_kill_9_of_a_sidecar[subreaper]":
        "the main's worker must be reparented to usher: " + _SUBREAPER,
    "operators/test_oom_attribution.py::test_a_tracked_childs_own_oom_kill_is_still_named[subreaper]":
        "the main's worker must be reparented to usher: " + _SUBREAPER,
    "operators/test_notify.py::test_podman_sdnotify_container_passes_usher_ready_on": _PODMAN,
    "operators/test_termination_message.py::test_in_podman_the_mounted_termination_log_gets_the_reason": _PODMAN,
    "release/test_release.py": "checks the dist/release folder, not USHER_BIN (make release-check runs it once)",
    "release/test_release_binary.py::test_is_static_and_stripped":
        "USHER_BIN is the qemu wrapper script; test_release.py reads the arm64 binary's ELF header",
    "release/test_release_binary.py::test_size_at_most_one_megabyte":
        "USHER_BIN is the qemu wrapper script; test_release.py and make bench measure the arm64 binary",
    "release/test_release_binary.py::test_runs_in_an_empty_root_filesystem": "the empty root has no qemu to run usher",
    "release/test_release_binary.py::test_idle_resident_memory_not_above_tini_static":
        "the resident set is qemu's (about 11 MB), not usher's",
    "reliability/test_threads.py::test_usher_runs_one_thread_through_startup_probes_and_shutdown":
        "qemu-user runs a thread of its own (RCU) beside the emulated one",
    "reliability/test_storms.py::test_a_storm_of_mixed_signals_is_forwarded_as_posix_delivers_it":
        "it checks usher's thread count, and qemu-user runs a thread of its own (RCU)",
    "reliability/test_storms.py::test_every_signal_number_leaves_usher_running[subreaper]":
        "qemu-user (statically linked with glibc) cannot take signal 32, glibc's own: it kills qemu",
    "lifecycle/test_release_inherit.py": "qemu-user (statically linked with glibc) cannot reset signal 32, glibc's "
                               "own, on the host: an ignored 32 that qemu inherited reaches the children",
    "reliability/test_exhaustion.py::test_a_full_stderr_pipe_never_stops_usher_supervising":
        "qemu-user 7.2 does not emulate pwritev2 (ENOSYS), so usher's log falls back to blocking writes",
    "reliability/test_exhaustion.py::test_a_spawn_failing_with_eagain_is_reported_and_what_started_is_stopped_in_reverse":
        "RLIMIT_NPROC counts qemu-user's own threads, and " + _PIDS,
    "reliability/test_exhaustion.py::test_emfile_for_a_prefix_pipe_is_reported_and_what_started_is_stopped_in_reverse": _FDS,
    "reliability/test_exhaustion.py::test_emfile_before_usher_is_set_up_is_a_clear_error_and_nothing_starts": _FDS,
    "reliability/test_exhaustion.py::test_emfile_for_a_probe_socket_fails_the_probe_with_its_reason": _FDS,
    "cli/test_exit_status.py::test_command_not_found_is_127_and_named": _EXEC,
    "cli/test_exit_status.py::test_not_executable_is_126_and_named": _EXEC,
    "cli/test_exit_status.py::test_a_sidecar_that_cannot_start_stops_startup": _EXEC,
    "cli/test_exit_status.py::test_a_sidecar_that_cannot_be_executed_gives_126": _EXEC,
    "cli/test_exit_status.py::test_a_main_process_that_cannot_start_stops_the_sidecars_in_reverse": _EXEC,
    "pod/test_probe_verdicts.py::test_a_probe_s_messages_name_its_command_as_written": _EXEC,
    "lifecycle/test_lifecycle.py::test_start_order_and_what_each_child_inherits": _PIDS,
    "pod/test_pod_startup.py::test_init_containers_run_in_order_each_to_completion_then_the_mains_together": _PIDS,
    "pod/test_pod_startup.py::test_a_sidecar_without_a_startup_probe_lets_the_next_entry_start_at_once": _PIDS,
    "lifecycle/test_misbehaving.py::test_usher_goes_on_when_the_reader_of_its_stderr_goes_away": _PIDS,
    "lifecycle/test_misbehaving.py::test_a_daemon_that_double_forks_out_of_its_process_group[subreaper]": _SUBREAPER,
    "lifecycle/test_subreaper.py::test_orphans_are_reparented_to_usher_and_reaped": _SUBREAPER,
    "rehearse/test_rehearse.py::test_a_daemon_that_leaves_its_group_fails":
        "rehearse counts orphans as a subreaper, and " + _SUBREAPER,
    "rehearse/test_rehearse.py::test_the_report_is_alone_on_stdout":
        "the main's killed `sleep` becomes a zombie of the real init, not usher's, and stays a member "
        "of the main's group when usher checks it for orphans: " + _SUBREAPER,
    "rehearse/test_rehearse.py::test_a_group_member_that_ends_on_the_same_stop_signal_is_not_left_behind":
        "the group member that ends last becomes a zombie of the real init, not usher's, and stays a "
        "member of the main's group when usher checks it for orphans: " + _SUBREAPER,
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if not EMULATED:
        return
    modules = {}
    for item in items:
        file = os.path.relpath(str(item.fspath), HERE)
        modules[file] = item.module
        name = getattr(item, "originalname", None) or item.name
        # One parametrization (test[param]), every parametrization (test), or the whole file.
        for key in (f"{file}::{item.name}", f"{file}::{name}", file):
            if key in QEMU_SKIPS:
                item.add_marker(pytest.mark.skip(reason=f"{EMULATED} under qemu-user: {QEMU_SKIPS[key]}"))
                break
    stale = [k for k in QEMU_SKIPS if not os.path.exists(os.path.join(HERE, k.split("::")[0]))
             or ("::" in k and k.split("::")[0] in modules
                 and not hasattr(modules[k.split("::")[0]], k.split("::")[1].split("[")[0]))]
    if stale:
        raise pytest.UsageError("conftest.py QEMU_SKIPS names files or tests that do not exist: " + ", ".join(stale))


@pytest.fixture(scope="session")
def actor():
    """The actor helper (helpers/actor.c), built once per run (static, so its start-up is cheap)."""
    return build_c("actor.c")


class Usher:
    """One usher run. `pid` is usher's pid as seen from here (PID 1 inside its namespace)."""

    def __init__(self, args, log, pid1=True, env=None, stdin=subprocess.DEVNULL, stdout_file=False,
                 stdout=None, stderr=None, wrap=(), **popen):
        """stdout, stderr: a file descriptor (or file) for usher's stdout or stderr instead of
        /dev/null (or the stdout file) and the stderr file; stderr() is then empty.
        wrap: words run between unshare and usher as PID 1 (e.g. ["setsid"], which execs usher
        as a session and group leader of its own inside the namespace)."""
        self.workdir = tempfile.mkdtemp(prefix="usher-test-")
        self.log = log
        self.stderr_path = os.path.join(self.workdir, "stderr")
        self.pid1 = pid1
        full_env = dict(os.environ)
        for k in [k for k in full_env if k.startswith("USHER_") and k != "USHER_BIN"]:
            del full_env[k]
        full_env.update(env or {})
        argv = [USHER] + args
        if pid1:
            argv = ["unshare", "--pid", "--fork", "--mount-proc", *wrap] + argv
        self.stderr_file = open(self.stderr_path, "w")
        self.stdout_path = os.path.join(self.workdir, "stdout")
        self.stdout_file = open(self.stdout_path, "w") if stdout_file else None
        self.started_at = time.monotonic_ns()
        self.proc = subprocess.Popen(argv, stdin=stdin,
                                     stdout=stdout if stdout is not None else self.stdout_file or subprocess.DEVNULL,
                                     stderr=stderr if stderr is not None else self.stderr_file, env=full_env,
                                     start_new_session="preexec_fn" not in popen, **popen)
        self.pid = self._find_usher() if pid1 else self.proc.pid
        self.returncode = None

    def _find_usher(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                children = open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read().split()
            except FileNotFoundError:
                children = []
            if children:
                return int(children[0])
            if self.proc.poll() is not None:
                return None
            time.sleep(0.005)
        raise AssertionError("unshare did not start usher")

    # --- events recorded by the actors -------------------------------------------------------
    def events(self):
        """[(name, event, detail, monotonic_ns, pid)] in the order written."""
        try:
            lines = open(self.log).read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            parts = line.split(" ")
            if len(parts) == 5:
                out.append((parts[0], parts[1], parts[2], int(parts[3]), int(parts[4])))
        return out

    def find(self, name, event, detail=None):
        return [e for e in self.events() if e[0] == name and e[1] == event and (detail is None or e[2] == detail)]

    def first(self, name, event, detail=None):
        found = self.find(name, event, detail)
        assert found, f"{name} never logged {event} {detail or ''}\nevents: {self.events()}\nstderr:\n{self.stderr()}"
        return found[0]

    def wait_for(self, predicate, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None and not predicate():
                raise AssertionError(f"usher exited ({self.proc.returncode}) before {what}\nevents: {self.events()}\nstderr:\n{self.stderr()}")
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}\nevents: {self.events()}\nstderr:\n{self.stderr()}")

    def wait_started(self, *names, timeout=10):
        self.wait_for(lambda: all(self.find(n, "start") for n in names), timeout, f"{names} to start")

    def logged_starts(self, count, timeout=10):
        """usher's `name[pid] started` lines, once there are count of them: usher logs a start once
        spawn has returned, which can be after the child has logged its own."""
        starts = lambda: [t for t in self.log_texts() if t.endswith(" started")]  # noqa: E731
        self.wait_for(lambda: len(starts()) >= count, timeout, f"usher to log {count} starts")
        return starts()

    # --- talking to usher ----------------------------------------------------------------------
    def signal(self, sig):
        """Sends sig to usher; returns the monotonic time just before sending."""
        t = time.monotonic_ns()
        os.kill(self.pid, sig)
        return t

    def wait(self, timeout=20):
        self.returncode = self.proc.wait(timeout=timeout)
        self.ended_at = time.monotonic_ns()
        return self.returncode

    def running(self):
        return self.proc.poll() is None

    def stderr(self):
        self.stderr_file.flush()
        return open(self.stderr_path).read()

    def stdout(self):
        return open(self.stdout_path).read() if self.stdout_file else ""

    def log_lines(self):
        return [l for l in self.stderr().splitlines() if LOG_LINE.match(l)]

    def log_texts(self):
        """The lifecycle log's lines without their timestamp: `app[4] started`."""
        return [l.split(" usher: ", 1)[1] for l in self.log_lines()]

    def children_states(self):
        """{pid: state letter} of usher's children, read from this (the parent) namespace."""
        out = {}
        try:
            kids = open(f"/proc/{self.pid}/task/{self.pid}/children").read().split()
        except FileNotFoundError:
            return out
        for k in kids:
            letter = state(int(k))
            if letter is not None:
                out[int(k)] = letter
        return out

    def cleanup(self):
        """Kills whatever this run left: usher, and the process group of every process below it
        (each child of usher leads its own group, and a shell's background jobs share its group).
        The tree is read before anything is killed: once usher is gone its children are
        reparented and can no longer be found from here."""
        if self.proc.poll() is None:
            kill_tree(self.proc.pid)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stderr_file.close()
        if self.stdout_file:
            self.stdout_file.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def descendants(pid):
    """Every process below pid, parents before children (read from /proc/*/task/*/children)."""
    out, queue = [], [pid]
    while queue:
        p = queue.pop(0)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                kids = [int(k) for k in open(f"/proc/{p}/task/{t}/children").read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            out.extend(kids)
            queue.extend(kids)
    return out


def kill_tree(pid):
    """SIGKILL to pid, everything below it, and the process groups they are in (never ours)."""
    tree = descendants(pid)
    for p in [pid] + tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    own_group = os.getpgrp()
    for p in tree:
        try:
            pgid = os.getpgid(p)
        except ProcessLookupError:
            continue
        if pgid != own_group:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def events_log(tmp_path):
    """The file all actors of one test append their events to."""
    return str(tmp_path / "events.log")


@pytest.fixture
def act(actor, events_log):
    """act(name, *options): the argv of an actor that logs to this test's events file.
    act.line(name, *options): the same as one command line, for --sidecar NAME=COMMAND."""
    def argv(name, *options):
        return [actor, name, "--log", events_log, *[str(o) for o in options]]
    argv.line = lambda name, *options: " ".join(shlex.quote(w) for w in argv(name, *options))
    return argv


@pytest.fixture
def usher(events_log):
    """usher(args, pid1=True, env=None) starts usher; every run is killed at the test's end."""
    runs = []

    def start(args, **kw):
        u = Usher(args, events_log, **kw)
        runs.append(u)
        return u

    yield start
    for u in runs:
        u.cleanup()


@pytest.fixture
def pty():
    """A pseudo-terminal, (master, slave) file descriptors, both closed at the test's end."""
    master, slave = os.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


@pytest.fixture
def spawn():
    """spawn(argv, **popen): a process started outside the Usher class (with its own stdio or
    launcher); it and everything below it is killed at the test's end."""
    procs = []

    def start(argv, **popen):
        popen.setdefault("start_new_session", "preexec_fn" not in popen)
        p = subprocess.Popen(argv, **popen)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            kill_tree(p.pid)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def ms(ns):
    return ns / 1e6
