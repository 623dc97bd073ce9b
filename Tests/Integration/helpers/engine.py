"""podman for the tests of issue 14 (test_status, test_oom, test_engine_init, test_restricted, ...):
FROM scratch images built from dist/usher and the static helpers, and containers whose actors
write their events to a mounted folder, as in test_container.py.

The images get a tag of their own for each test run (localhost/usher-i14-<random>), removed at
the end: other worktrees on this machine build `usher:test` with their own binary at the same
time, and a shared tag would let one run test another's usher.

Import the fixtures into a test module: `from helpers.engine import engine, ctr, hog  # noqa: F401`."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
USHER = os.environ.get("USHER_BIN", os.path.join(ROOT, "dist/usher"))


def podman(*args, check=True, timeout=120, **kw):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def build_static(src, out_dir, name):
    path = os.path.join(out_dir, name)
    subprocess.run(["gcc", "-O2", "-static", "-o", path, os.path.join(HERE, src)], check=True)
    return path


@pytest.fixture(scope="session")
def hog():
    """The hog helper (helpers/hog.c), static: it runs in a FROM scratch image too."""
    out = tempfile.mkdtemp(prefix="usher-hog-")
    yield build_static("hog.c", out, "hog")
    shutil.rmtree(out, ignore_errors=True)


class Images:
    def __init__(self, full, bare):
        self.full = full  # /usr/bin/usher, /actor, /hog, /bin/busybox
        self.bare = bare  # /actor and /bin/busybox only: no usher (for podman --init)


@pytest.fixture(scope="session")
def engine(actor, hog):
    """Builds the two images once per run; fails (never skips) when podman cannot run here."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run ../shared/container-env.sh (make test does)")
    probe = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
    if probe.returncode != 0:
        pytest.fail(f"the container engine cannot start on this machine:\n{probe.stderr}")
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox is missing: make deps installs Debian's busybox-static")
    repo = "localhost/usher-i14-" + uuid.uuid4().hex[:10]
    context = tempfile.mkdtemp(prefix="usher-i14-image-")
    try:
        for src, dst in ((USHER, "usher"), (actor, "actor"), (hog, "hog"), (busybox, "busybox")):
            shutil.copy(src, os.path.join(context, dst))
        with open(os.path.join(context, "Containerfile.full"), "w") as f:
            f.write("FROM scratch\nCOPY usher /usr/bin/usher\nCOPY actor /actor\nCOPY hog /hog\n"
                    "COPY busybox /bin/busybox\nENTRYPOINT [\"/usr/bin/usher\", \"--\"]\n")
        with open(os.path.join(context, "Containerfile.bare"), "w") as f:
            f.write("FROM scratch\nCOPY actor /actor\nCOPY busybox /bin/busybox\n")
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.full"), "-t", repo + ":full", context)
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.bare"), "-t", repo + ":bare", context)
    finally:
        shutil.rmtree(context, ignore_errors=True)
    yield Images(repo + ":full", repo + ":bare")
    podman("rmi", "-f", repo + ":full", repo + ":bare", check=False)


class Container:
    """One container: `dir` is mounted at /log (mode 777, so any --user writes its events)."""

    def __init__(self, images):
        self.images = images
        self.name = "usher-i14-" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="usher-i14-ctr-")
        os.chmod(self.dir, 0o777)
        self.log = os.path.join(self.dir, "events.log")

    def actor(self, name, *options):
        return ["/actor", name, "--log", "/log/events.log", *[str(o) for o in options]]

    def actor_line(self, name, *options):
        return " ".join(self.actor(name, *options))

    def hog(self, name, *options):
        return ["/hog", name, "--log", "/log/events.log", *[str(o) for o in options]]

    def run(self, *args, opts=(), image=None, entrypoint="/usr/bin/usher"):
        """podman run -d: `args` go to usher (the entrypoint), or are the image's command when
        entrypoint is None; `opts` are podman's options."""
        ep = ["--entrypoint", entrypoint] if entrypoint else []
        # In the container's folder: conmon (podman's monitor, which inherits the working
        # directory) writes a file named `oom` there when the kernel's OOM killer strikes.
        podman("run", "-d", "--name", self.name, "-v", f"{self.dir}:/log", *opts, *ep,
               image or self.images.full, *args, cwd=self.dir)

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.dir, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def events(self):
        try:
            lines = open(self.log).read().splitlines()
        except FileNotFoundError:
            return []
        return [tuple(l.split(" ")) for l in lines if len(l.split(" ")) == 5]

    def find(self, name, event, detail=None):
        return [e for e in self.events() if e[0] == name and e[1] == event and (detail is None or e[2] == detail)]

    def first(self, name, event, detail=None):
        found = self.find(name, event, detail)
        assert found, f"{name} never logged {event} {detail or ''}\nevents: {self.events()}\nlogs:\n{self.logs()}"
        return found[0]

    def running(self):
        r = podman("inspect", "-f", "{{.State.Running}}", self.name, check=False)
        return r.stdout.strip() == "true"

    def wait_for(self, predicate, timeout=30, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}\nevents: {self.events()}\nlogs:\n{self.logs()}")

    def wait_started(self, *names, timeout=30):
        self.wait_for(lambda: all(self.find(n, "start") for n in names), timeout, f"{names} to start")

    def exec(self, *argv, timeout=60):
        return podman("exec", self.name, *argv, check=False, timeout=timeout)

    def stop(self, seconds=20):
        return podman("stop", "-t", str(seconds), self.name, timeout=seconds + 60)

    def exit_code(self, timeout=90):
        return int(podman("wait", self.name, timeout=timeout).stdout.strip())

    def logs(self):
        r = podman("logs", self.name, check=False)
        return r.stdout + r.stderr

    def usher_lines(self):
        """usher's log lines (text format) without their timestamp."""
        return [l.split(" usher: ", 1)[1] for l in self.logs().splitlines() if " usher: " in l]

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ctr(engine):
    """ctr(): a new Container (not yet running); every one is removed at the test's end."""
    made = []

    def make():
        c = Container(engine)
        made.append(c)
        return c

    yield make
    for c in made:
        c.remove()
