"""Fixtures for running dist/usher for real: as PID 1 of a new pid namespace (unshare), or
directly (then usher is a child subreaper), with the `actor` helper playing app and sidecars."""
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
USHER = os.environ.get("USHER_BIN", os.path.join(HERE, "../../dist/usher"))
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z usher: ")


@pytest.fixture(scope="session")
def actor():
    """The helper program, built once per run (static, so its start-up is cheap)."""
    out = tempfile.mkdtemp(prefix="usher-actor-")
    path = os.path.join(out, "actor")
    src = os.path.join(HERE, "helpers", "actor.c")
    if subprocess.run(["gcc", "-O2", "-static", "-o", path, src]).returncode != 0:
        subprocess.run(["gcc", "-O2", "-o", path, src], check=True)
    yield path
    shutil.rmtree(out, ignore_errors=True)


class Usher:
    """One usher run. `pid` is usher's pid as seen from here (PID 1 inside its namespace)."""

    def __init__(self, args, log, pid1=True, env=None, stdin=subprocess.DEVNULL, **popen):
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
            argv = ["unshare", "--pid", "--fork", "--mount-proc"] + argv
        self.stderr_file = open(self.stderr_path, "w")
        self.started_at = time.monotonic_ns()
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_file, env=full_env,
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

    def log_lines(self):
        return [l for l in self.stderr().splitlines() if LOG_LINE.match(l)]

    def children_states(self):
        """{pid: state letter} of usher's children, read from this (the parent) namespace."""
        out = {}
        try:
            kids = open(f"/proc/{self.pid}/task/{self.pid}/children").read().split()
        except FileNotFoundError:
            return out
        for k in kids:
            try:
                stat = open(f"/proc/{k}/stat").read()
                out[int(k)] = stat[stat.rindex(")") + 2]
            except FileNotFoundError:
                pass
        return out

    def cleanup(self):
        if self.proc.poll() is None:
            for target in (self.pid, self.proc.pid):
                try:
                    if self.pid1:
                        os.kill(target, signal.SIGKILL)  # PID 1 dying takes its namespace along
                    else:
                        os.killpg(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, TypeError):
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stderr_file.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


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


def ms(ns):
    return ns / 1e6
