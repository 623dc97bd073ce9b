"""The one podman harness of the tests (engine/, and the podman tests of operators/ and pod/):
images built from USHER_BIN and the static helpers, and containers whose actors write their
events to a mounted folder.

Every image gets a tag of this test run's own (localhost/usher-test-WHAT:RUN, RUN random, one
per pytest process), removed at its end: other worktrees on this machine build images with
their own binary at the same time, and a shared tag would let one run test another's usher.
The repository part says what the image holds:
  scratch-usher-helpers  FROM scratch: /usr/bin/usher (the entrypoint, `usher --`), /actor,
                         /hog, /bin/busybox                                     (fixture engine)
  scratch-helpers        the same without usher, for `podman run --init`       (fixture engine)
  dockerfile-local       images/Dockerfile.local as users build it             (fixture dockerfile)
  dockerfile-local-actor that plus /actor                                      (fixture dockerfile)
  busybox                FROM scratch with busybox and its /bin links, a base for the examples
  example-NAME           images/examples/NAME built on those two               (example_image)

conftest.py imports the fixtures (engine, ctr, hog, dockerfile), so every test can ask for them."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from helpers.programs import build_c

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
USHER = os.environ.get("USHER_BIN", os.path.join(ROOT, "dist/usher"))
RUN = uuid.uuid4().hex[:10]


def tag(what):
    """This run's own name for an image that holds `what`."""
    return f"localhost/usher-test-{what}:{RUN}"


def unique_name(what="ctr"):
    """A container name no other run uses."""
    return f"usher-test-{what}-{uuid.uuid4().hex[:10]}"


def podman(*args, check=True, timeout=120, **kw):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def require_podman():
    """Fails (never skips) when podman cannot run a container here."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run ../shared/container-env.sh (make test does)")
    probe = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
    if probe.returncode != 0:
        pytest.fail(f"the container engine cannot start on this machine:\n{probe.stderr}")


def require_busybox():
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox is missing: make deps installs Debian's busybox-static")
    return busybox


@pytest.fixture(scope="session")
def hog():
    """The hog helper (helpers/hog.c), static: it runs in a FROM scratch image too."""
    return build_c("hog.c", static="required")


class Images:
    def __init__(self, full, bare):
        self.full = full  # /usr/bin/usher, /actor, /hog, /bin/busybox
        self.bare = bare  # /actor and /bin/busybox only: no usher (for podman --init)


@pytest.fixture(scope="session")
def engine(actor, hog):
    """Builds the two FROM scratch images once per run; fails (never skips) when podman cannot run here."""
    require_podman()
    busybox = require_busybox()
    full, bare = tag("scratch-usher-helpers"), tag("scratch-helpers")
    context = tempfile.mkdtemp(prefix="usher-test-image-")
    try:
        for src, dst in ((USHER, "usher"), (actor, "actor"), (hog, "hog"), (busybox, "busybox")):
            shutil.copy(src, os.path.join(context, dst))
        with open(os.path.join(context, "Containerfile.full"), "w") as f:
            f.write("FROM scratch\nCOPY usher /usr/bin/usher\nCOPY actor /actor\nCOPY hog /hog\n"
                    "COPY busybox /bin/busybox\nENTRYPOINT [\"/usr/bin/usher\", \"--\"]\n")
        with open(os.path.join(context, "Containerfile.bare"), "w") as f:
            f.write("FROM scratch\nCOPY actor /actor\nCOPY busybox /bin/busybox\n")
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.full"), "-t", full, context)
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.bare"), "-t", bare, context)
    finally:
        shutil.rmtree(context, ignore_errors=True)
    yield Images(full, bare)
    podman("rmi", "-f", full, bare, check=False)


class DockerfileImages:
    def __init__(self, usher, actor, busybox):
        self.usher = usher  # images/Dockerfile.local, built from USHER_BIN as users build it
        self.actor = actor  # that plus /actor
        self.busybox = busybox  # a base with /bin/sh: busybox and its links, FROM scratch


@pytest.fixture(scope="session")
def dockerfile(actor):
    """The images users build: images/Dockerfile.local (and it plus the actor), and a busybox base
    for the examples (there is no registry here), built once per run."""
    require_podman()
    busybox = require_busybox()
    images = DockerfileImages(tag("dockerfile-local"), tag("dockerfile-local-actor"), tag("busybox"))
    context = tempfile.mkdtemp(prefix="usher-test-image-")
    try:
        # The usher image, built exactly as users on a machine without a registry build it.
        os.makedirs(os.path.join(context, "dist"))
        shutil.copy(USHER, os.path.join(context, "dist/usher"))
        shutil.copy(os.path.join(ROOT, "LICENSE"), context)
        podman("build", "-q", "-f", os.path.join(ROOT, "images/Dockerfile.local"), "-t", images.usher, context)
        shutil.copy(actor, os.path.join(context, "actor"))
        shutil.copy(busybox, os.path.join(context, "busybox"))
        with open(os.path.join(context, "Containerfile.actor"), "w") as f:
            f.write(f"FROM {images.usher}\nCOPY actor /actor\n")
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.actor"), "-t", images.actor, context)
        with open(os.path.join(context, "Containerfile.busybox"), "w") as f:
            f.write('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
        podman("build", "-q", "-f", os.path.join(context, "Containerfile.busybox"), "-t", images.busybox, context)
    finally:
        shutil.rmtree(context, ignore_errors=True)
    yield images
    podman("rmi", "-f", images.actor, images.usher, images.busybox, check=False)


@pytest.fixture
def example_image(dockerfile):
    """example_image(NAME): images/examples/NAME built on this run's usher and busybox images,
    removed at the test's end."""
    built = []

    def build(name):
        image = tag("example-" + name)
        podman("build", "-q", "--build-arg", f"USHER_IMAGE={dockerfile.usher}",
               "--build-arg", f"BASE={dockerfile.busybox}", "-t", image, os.path.join(ROOT, "images/examples", name))
        built.append(image)
        return image

    yield build
    if built:
        podman("rmi", "-f", *built, check=False)


class Container:
    """One container: `dir` is mounted at /log (mode 777, so any --user writes its events).
    `image`: the image run() runs when given none (by default images.full)."""

    def __init__(self, images, image=None):
        self.images, self.image = images, image
        self.name = unique_name()
        self.dir = tempfile.mkdtemp(prefix="usher-test-ctr-")
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
               image or self.image or self.images.full, *args, cwd=self.dir)

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
    """ctr(image=None): a new Container (not yet running); every one is removed at the test's end."""
    made = []

    def make(image=None):
        c = Container(engine, image)
        made.append(c)
        return c

    yield make
    for c in made:
        c.remove()
