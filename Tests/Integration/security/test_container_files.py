"""Files a container controls, opened by usher on its behalf: env files (`--env-file`,
`fileKeyRef`), the status file, `usher status`'s read of it, and the termination message. usher
runs as root here, the container's processes often as another user in directories they can
write (an emptyDir is 0777 and not sticky). Each test plants what such a process could (a
symbolic link, a FIFO, a root-only file, a full file system) and checks that usher neither
writes through it, nor reads a secret for it, nor hangs on it, nor reports what is no longer
true. The policy: regular files only, opened non-blocking, never through a link (a read never
leaves its volume or directory), reads with the container user's rights, bounded sizes."""
import os
import resource
import pathlib
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import USHER
from helpers.podfile import container, exec_probe, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
NOBODY = 65534
SECRET = "r00t-only-s3cret-value"


@pytest.fixture
def volume():
    """A directory like an emptyDir: 0777, not sticky, on a path every user can reach (pytest's
    own temporary folders are 0700)."""
    path = tempfile.mkdtemp(prefix="usher-volume-")
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root_secret(volume):
    """A root-only (0600) env file outside the volume, as /etc/shadow or a mounted secret is."""
    d = tempfile.mkdtemp(prefix="usher-secret-")
    path = os.path.join(d, "root.env")
    with open(path, "w") as f:
        f.write(f"DB_PASS={SECRET}\n")
    os.chmod(path, 0o600)
    yield path
    shutil.rmtree(d, ignore_errors=True)


def as_nobody(*argv):
    """Runs argv as uid/gid 65534, as the container's process would."""
    def drop():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    subprocess.run(list(argv), check=True, preexec_fn=drop)


def file_pod(tmp_path, volume, path, optional=None, user=NOBODY, command=None):
    """A main container that runs as `user` with DB_PASS from `path` in `volume` (fileKeyRef),
    and writes what it got to volume/seen."""
    ref = {"volumeName": "shared", "path": path, "key": "DB_PASS"}
    if optional is not None:
        ref["optional"] = optional
    cmd = command or ["/bin/sh", "-c", f'printf "%s" "${{DB_PASS-unset}}" > {volume}/seen; exec sleep 30']
    web = container("web", cmd, env=[{"name": "DB_PASS", "valueFrom": {"fileKeyRef": ref}}],
                    volumeMounts=[{"name": "shared", "mountPath": volume}],
                    securityContext={"runAsUser": user, "runAsGroup": user})
    return write_pod(tmp_path, containers=[web])


def assert_refused(u, reason):
    assert u.wait(timeout=10) == 126, u.stderr()
    err = u.stderr()
    assert SECRET not in err, "a value reached the log"
    assert any("web could not be started" in t and reason in t for t in u.log_texts()), err


# --- Reading a secret for a user who could not -----------------------------------------------------

@MODES
def test_an_env_file_linked_to_a_root_only_file_outside_the_volume_is_not_read(usher, tmp_path, volume, root_secret, pid1):
    """A process of the pod (uid 65534) links app.env in the shared volume to a root-only file:
    usher (root) must not read it for a container running as 65534, whose environment would
    otherwise carry the secret."""
    as_nobody("ln", "-s", root_secret, os.path.join(volume, "app.env"))
    u = usher(["-f", file_pod(tmp_path, volume, "app.env")], pid1=pid1)
    assert_refused(u, "symbolic link")
    assert not os.path.exists(os.path.join(volume, "seen"))


@MODES
def test_a_root_only_env_file_in_the_volume_is_not_read_for_another_user(usher, tmp_path, volume, pid1):
    """KEP-3721: a container whose user cannot read its env file does not start."""
    path = os.path.join(volume, "app.env")
    with open(path, "w") as f:
        f.write(f"DB_PASS={SECRET}\n")
    os.chmod(path, 0o600)
    u = usher(["-f", file_pod(tmp_path, volume, "app.env")], pid1=pid1)
    assert_refused(u, f"permission denied to uid {NOBODY}")


def test_a_link_that_stays_inside_the_volume_is_followed_with_the_users_rights(usher, tmp_path, volume):
    """The layout of a ConfigMap or Secret volume (a name linked to ..data/name) still works: a
    link that stays in the volume is followed, and the file is read as the container's user."""
    os.mkdir(os.path.join(volume, "..data"))
    with open(os.path.join(volume, "..data", "app.env"), "w") as f:
        f.write("DB_PASS=readable-by-all\n")
    os.symlink("..data/app.env", os.path.join(volume, "app.env"))
    u = usher(["-f", file_pod(tmp_path, volume, "app.env")])
    seen = os.path.join(volume, "seen")
    u.wait_for(lambda: os.path.exists(seen) and open(seen).read() != "", what="web to write what it got")
    assert open(seen).read() == "readable-by-all"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- Hangs --------------------------------------------------------------------------------------

@MODES
def test_an_env_file_that_is_a_fifo_fails_the_start_instead_of_freezing_usher(usher, act, tmp_path, pid1):
    """open(O_RDONLY) of a FIFO waits for a writer: inside the event loop that froze usher for
    good (no signal read, nothing reaped, no deadline)."""
    fifo = tmp_path / "app.env"
    os.mkfifo(fifo)
    u = usher(["--env-file", str(fifo), "--", *act("web")], pid1=pid1)
    assert u.wait(timeout=10) == 126, u.stderr()
    assert any("not a regular file" in t for t in u.log_texts()), u.stderr()
    assert not u.find("web", "start")


@MODES
def test_a_fifo_termination_log_does_not_keep_usher_from_exiting(usher, act, tmp_path, pid1):
    """Nobody reads the FIFO: there is no message, and usher exits with the main's status."""
    fifo = tmp_path / "termination-log"
    os.mkfifo(fifo)
    u = usher(["--termination-log", str(fifo), "--", *act("web", "--exit-after", 0, "--code", 3)], pid1=pid1)
    assert u.wait(timeout=10) == 3, u.stderr()


def test_usher_status_does_not_hang_on_a_fifo(tmp_path):
    fifo = tmp_path / "status"
    os.mkfifo(fifo)
    r = subprocess.run([USHER, "status", "--status-file", str(fifo)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "not a regular file" in r.stderr


def test_a_status_file_that_says_pid_0_is_no_running_usher(tmp_path):
    """kill(0, 0) asks about the caller's own process group, which always exists."""
    path = tmp_path / "status"
    path.write_text("usher-status 1\npid 0\nup yes\n")
    r = subprocess.run([USHER, "status", "--status-file", str(path)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, r.stdout
    assert "is not running" in r.stderr


# --- Optional and required env files say why ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["directory", "fifo", "too-large"])
def test_an_optional_env_file_that_exists_but_cannot_be_read_fails_the_start(usher, tmp_path, volume, kind):
    """KEP-3721's optional covers a file or key that does not exist; a file that exists and cannot
    be read fails the container, with the reason."""
    path = os.path.join(volume, "app.env")
    if kind == "directory":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "w") as f:
            f.write("DB_PASS=x\n" + "# padding\n" * 7000)
    reason = {"directory": "not a regular file", "fifo": "not a regular file", "too-large": "larger than 65536 bytes"}[kind]
    u = usher(["-f", file_pod(tmp_path, volume, "app.env", optional=True, user=0)])
    assert_refused(u, reason)


def test_an_optional_env_file_that_does_not_exist_leaves_the_variable_unset(usher, tmp_path, volume):
    u = usher(["-f", file_pod(tmp_path, volume, "absent.env", optional=True)])
    seen = os.path.join(volume, "seen")
    u.wait_for(lambda: os.path.exists(seen) and open(seen).read() != "", what="web to write what it got")
    assert open(seen).read() == "unset"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- Writes through a planted link -------------------------------------------------------------------

@pytest.fixture
def victim():
    """A root-owned file that no write of usher's may touch."""
    d = tempfile.mkdtemp(prefix="usher-victim-")
    path = os.path.join(d, "victim")
    with open(path, "w") as f:
        f.write("ORIGINAL\n")
    yield path
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def status_dir():
    """status_dir(owner): a directory for the status file, on a path every user can reach."""
    made = []

    def make(owner=0, mode=0o755):
        top = tempfile.mkdtemp(prefix="usher-run-")
        os.chmod(top, 0o755)
        made.append(top)
        d = pathlib.Path(top) / "usher"
        d.mkdir()
        os.chown(d, owner, owner)
        os.chmod(d, mode)
        return d
    yield make
    for top in made:
        shutil.rmtree(top, ignore_errors=True)


def wait_for_status(u, path, text):
    u.wait_for(lambda: os.path.exists(path) and text in open(path).read(), what=f"the status file to say {text!r}")


@MODES
@pytest.mark.parametrize("planted", ["symlink", "fifo"])
def test_a_link_or_fifo_at_the_status_files_temporary_name_is_never_opened(usher, act, status_dir, victim, pid1, planted):
    """status.tmp planted in the status directory by a process of usher's own uid: a symbolic
    link to another file (usher used to truncate and overwrite it), or a FIFO (usher used to
    block in its open at the next status change, and never reaped the main)."""
    d = status_dir()
    status = d / "status"
    u = usher(["--status-file", str(status), "--", *act("web")], pid1=pid1)
    u.wait_started("web")
    wait_for_status(u, status, " main ready ")
    if planted == "symlink":
        os.symlink(victim, d / "status.tmp")
    else:
        os.mkfifo(d / "status.tmp")
    u.signal(signal.SIGTERM)  # the stop rewrites the status file
    assert u.wait(timeout=10) == 143, u.stderr()
    assert open(victim).read() == "ORIGINAL\n"
    assert "up no" in open(status).read()


@MODES
def test_a_status_directory_another_user_owns_is_refused(usher, act, status_dir, victim, pid1):
    """An app (uid 65534) that can write /run renames /run/usher away and makes its own, with
    status.tmp linked to a file of root's: usher writes no status file there at all."""
    d = status_dir(owner=NOBODY)
    as_nobody("ln", "-s", victim, str(d / "status.tmp"))
    u = usher(["--status-file", str(d / "status"), "--", *act("web", "--exit-after", 0)], pid1=pid1)
    assert u.wait(timeout=10) == 0, u.stderr()
    assert open(victim).read() == "ORIGINAL\n"
    assert f"belongs to uid {NOBODY}" in u.stderr()
    assert not (d / "status").exists()


@MODES
def test_a_termination_log_that_is_a_link_is_not_written_through(usher, act, tmp_path, victim, pid1):
    log = tmp_path / "termination-log"
    os.symlink(victim, log)
    u = usher(["--termination-log", str(log), "--", *act("web", "--exit-after", 0)], pid1=pid1)
    assert u.wait(timeout=10) == 0, u.stderr()
    assert open(victim).read() == "ORIGINAL\n"


def test_a_termination_log_with_a_second_name_is_not_written(usher, act, tmp_path, victim):
    """A hard link to another file (where protected_hardlinks is off, any user can make one)."""
    log = tmp_path / "termination-log"
    os.link(victim, log)
    u = usher(["--termination-log", str(log), "--", *act("web", "--exit-after", 0)])
    assert u.wait(timeout=10) == 0, u.stderr()
    assert open(victim).read() == "ORIGINAL\n"


# --- A status file that cannot be written does not lie -----------------------------------------------

def test_a_status_write_that_fails_leaves_no_stale_ready_and_is_retried(usher, act, tmp_path):
    """One ENOSPC (a full /run) left the file saying "ready" for an app no longer ready, also once
    there was room again. Now the file is removed (usher status: not ready), the failure is
    logged once, and the file is written again within a couple of seconds of there being room.
    PID 1 only: the small file system is mounted in usher's own mount namespace."""
    flag = tmp_path / "ready"
    flag.touch()
    run = "/run/usher-full"
    web = container("web", act("web"), readinessProbe=exec_probe(["test", "-e", str(flag)], period=1, failures=1))
    pod = write_pod(tmp_path, containers=[web])
    mount = f"mkdir -p {run} && mount -t tmpfs -o size=64k tmpfs {run} && exec \"$@\""
    u = usher(["--status-file", f"{run}/status", "-f", pod], wrap=["/bin/sh", "-c", mount, "sh"])
    here = f"/proc/{u.pid}/root{run}"
    status = f"{here}/status"

    def usher_status():
        return subprocess.run(["nsenter", "-t", str(u.pid), "-p", "-m", "--", USHER, "status", "--status-file",
                               f"{run}/status"], capture_output=True, text=True, timeout=10)

    u.wait_for(lambda: usher_status().returncode == 0, what="usher status to say ready")
    fill = os.open(f"{here}/fill", os.O_WRONLY | os.O_CREAT)  # the file system is full from here on
    try:
        while True:
            os.write(fill, b"x" * 4096)
    except OSError:
        pass
    os.close(fill)
    flag.unlink()  # web turns not ready: the status file must change
    u.wait_for(lambda: any("the status file" in t and "cannot be written" in t for t in u.log_texts()),
               what="the failure to be logged")
    r = usher_status()
    assert r.returncode == 1, f"usher status still answers ready for an app that is not:\n{r.stdout}"
    os.unlink(f"{here}/fill")
    u.wait_for(lambda: os.path.exists(status) and "not-ready" in open(status).read(), timeout=5,
               what="the status file to be written again")
    assert any("is written again" in t for t in u.log_texts()), u.stderr()
    assert sum("cannot be written" in t for t in u.log_texts()) == 1, "the failure is logged once"
    assert usher_status().returncode == 1
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- Memory usher can be refused --------------------------------------------------------------------

@MODES
def test_a_start_that_memory_cannot_be_found_for_fails_and_usher_lives_on(usher, act, tmp_path, pid1):
    """RLIMIT_AS lowered while usher runs, then a sidecar's restart reads a 64 KB env file: Swift
    traps where an allocation fails, which killed PID 1 with SIGILL. The start must fail instead
    (the memory is asked for before it is used), and usher go on and stop as asked."""
    env = tmp_path / "app.env"
    env.write_text("".join(f"VARIABLE_NUMBER_{i:05d}=value-{i:05d}-abcdefgh\n" for i in range(1500)))
    u = usher(["--env-file", str(env), "--sidecar", "side=" + act.line("side"), "--", *act("web")], pid1=pid1)
    u.wait_started("side", "web")
    u.logged_starts(2)
    side = next(p for p in u.children_states() if b"side" in open(f"/proc/{p}/cmdline", "rb").read())
    mapped = next(int(l.split()[1]) for l in open(f"/proc/{u.pid}/status") if l.startswith("VmSize:"))
    resource.prlimit(u.pid, resource.RLIMIT_AS, ((mapped + 256) * 1024, resource.RLIM_INFINITY))
    os.kill(side, signal.SIGKILL)
    u.wait_for(lambda: any("side could not be started" in t and "not enough memory" in t for t in u.log_texts()),
               what="the restart to fail for want of memory")
    assert u.running()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143, u.stderr()
