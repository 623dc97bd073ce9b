"""Readiness outward: the status file and `usher status`.

usher keeps a status file (`--status-file PATH`, USHER_STATUS_FILE; by default /run/usher/status,
making /run/usher, when it can) and rewrites it atomically (a rename) when a container starts,
becomes ready or not ready, restarts or stops. `usher status [--status-file PATH] [--format json]`
exits 0 only when every main container is ready and every sidecar is started and usher is not
shutting down; 1 otherwise, also when the file is missing or the usher that wrote it is gone; it
prints each container's state (json: {ready, containers: [{name, role, state, pid, restarts,
ready}]}). It is the exec probe / HEALTHCHECK of the container usher runs in: as PID 1 the
tests run it inside usher's pid and mount namespaces (nsenter), as a container engine would."""
import json
import os
import pathlib
import re
import signal
import subprocess

import pytest

from conftest import USHER
from helpers.engine import podman
from helpers.podfile import container, exec_probe, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
RUNNING = ("running", "ready", "not-ready")  # the state words of a running process: a sidecar's, a main's


def status(u, *args, env=None):
    """`usher status ARGS` as a probe inside u's container: in its pid and mount namespaces when
    it is PID 1, directly when it is a subreaper."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    full.update(env or {})
    argv = [USHER, "status", *args]
    if u is not None and u.pid1:
        argv = ["nsenter", "-t", str(u.pid), "-p", "-m", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=full, timeout=20)


def status_json(u, path):
    r = status(u, "--status-file", path, "--format", "json")
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"usher status --format json printed no JSON ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.returncode, doc


def by_name(doc):
    return {c["name"]: c for c in doc["containers"]}


def log_has(u, pattern):
    return any(re.search(pattern, t) for t in u.log_texts())


def ready_pod(tmp_path, act, flag, **kw):
    """An init container, a sidecar and a main container that is ready while `flag` exists."""
    return write_pod(tmp_path, init=[container("setup", act("setup", "--exit-after", 0)), sidecar("proxy", act("proxy"))],
                     containers=[container("web", act("web", "--linger", 3000),
                                           readinessProbe=exec_probe(["test", "-e", str(flag)], period=1, failures=1))],
                     **kw)


@MODES
def test_usher_status_follows_readiness_restarts_and_the_shutdown(usher, act, tmp_path, pid1):
    flag, path = tmp_path / "ready", str(tmp_path / "state" / "status")
    os.mkdir(tmp_path / "state")
    u = usher(["--status-file", path, "-f", ready_pod(tmp_path, act, flag)], pid1=pid1)
    u.wait_started("proxy", "web")
    # An actor logs its start as soon as it runs, which can be before usher has written the
    # status file again after starting it: wait for the file to show both pids.
    u.wait_for(lambda: os.path.exists(path) and all(by_name(status_json(u, path)[1])[n]["pid"] is not None
                                                    for n in ("proxy", "web")),
               what="the status file to show proxy and web started")
    # Started, not ready: 1, and every container is listed.
    code, doc = status_json(u, path)
    assert code == 1 and doc["ready"] is False, doc
    containers = by_name(doc)
    web, proxy = containers["web"], containers["proxy"]
    assert (web["role"], web["ready"], web["pid"], web["restarts"]) == ("main", False, u.first("web", "start")[4], 0), doc
    assert web["state"] in RUNNING, doc
    assert (proxy["role"], proxy["pid"], proxy["restarts"]) == ("sidecar", u.first("proxy", "start")[4], 0), doc
    assert proxy["state"] in RUNNING, doc
    if "setup" in containers:
        assert containers["setup"]["role"] == "init", doc
    text = status(u, "--status-file", path)
    assert text.returncode == 1 and "web" in text.stdout and "proxy" in text.stdout, text
    before = os.stat(path).st_ino

    # Ready: 0. The file was replaced (a rename), not rewritten in place.
    flag.touch()
    u.wait_for(lambda: log_has(u, r"^web\[\d+\] is ready"), what="web to become ready")
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 0, timeout=5, what="usher status to say ready")
    code, doc = status_json(u, path)
    assert code == 0 and doc["ready"] is True and by_name(doc)["web"]["ready"] is True, doc
    assert os.stat(path).st_ino != before, "the status file must be replaced atomically (rename), not rewritten"

    # Not ready again: 1.
    flag.unlink()
    u.wait_for(lambda: log_has(u, r"^web\[\d+\] is not ready"), what="web to become not ready")
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 1, timeout=5, what="usher status to say not ready")
    flag.touch()
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 0, timeout=10, what="ready again")

    # Shutting down (web lingers 3s after its SIGTERM): 1, although web may still be ready.
    u.signal(signal.SIGTERM)
    u.wait_for(lambda: u.find("web", "signal", "15"), what="web's stop signal")
    r = status(u, "--status-file", path)
    assert r.returncode == 1, f"usher status must fail while usher shuts down:\n{r.stdout}{r.stderr}"
    assert u.wait(timeout=30) == 143
    if not pid1:
        r = status(None, "--status-file", path)
        assert r.returncode == 1, f"usher status must fail once usher has exited:\n{r.stdout}{r.stderr}"


@MODES
def test_a_sidecar_restart_is_counted_and_a_sidecar_waiting_to_restart_is_not_started(usher, act, tmp_path, pid1):
    path = str(tmp_path / "status")
    u = usher(["--status-file", path, "--sidecar", "flaky=" + act.line("flaky", "--exit-after", 2500),
               "--", *act("main")], pid1=pid1)
    u.wait_started("flaky", "main")
    # No readiness probe: the main container is ready once started (as in Kubernetes).
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 0, timeout=5, what="usher status to pass")
    # The first restart is at once; the second exit leaves it waiting 10s (back-off).
    u.wait_for(lambda: len(u.find("flaky", "start")) == 2, timeout=10, what="the sidecar's restart")
    u.wait_for(lambda: by_name(status_json(u, path)[1])["flaky"]["restarts"] == 1, timeout=5, what="restarts to be 1")
    code, doc = status_json(u, path)
    assert code == 0 and by_name(doc)["flaky"]["pid"] == u.find("flaky", "start")[1][4], doc
    u.wait_for(lambda: len(u.find("flaky", "exit")) == 2, timeout=10, what="the sidecar's second exit")
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 1, timeout=5,
               what="usher status to fail while the sidecar waits for its restart")
    code, doc = status_json(u, path)
    assert code == 1 and doc["ready"] is False and by_name(doc)["flaky"]["state"] not in RUNNING, doc
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 143


def test_the_default_status_file_is_run_usher_status(usher, act, tmp_path):
    """As PID 1 with an empty /run of its own (a tmpfs in usher's mount namespace, as in a
    container): usher makes /run/usher, and `usher status` needs no flag."""
    wrap = ["sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$0" "$@"']
    u = usher(["--sidecar", "proxy=" + act.line("proxy"), "--", *act("main")], wrap=wrap)
    u.wait_started("proxy", "main")
    u.wait_for(lambda: status(u).returncode == 0, timeout=5, what="usher status (default path) to pass")
    listing = subprocess.run(["nsenter", "-t", str(u.pid), "-m", "--", "ls", "/run/usher"], capture_output=True, text=True)
    assert "status" in listing.stdout.split(), listing
    r = status(u, "--format", "json")
    assert json.loads(r.stdout)["ready"] is True, r.stdout
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_usher_status_file_variable_for_usher_and_for_the_probe(usher, act, tmp_path):
    path = str(tmp_path / "status")
    u = usher(["--", *act("main")], env={"USHER_STATUS_FILE": path}, pid1=False)
    u.wait_started("main")
    u.wait_for(lambda: status(u, env={"USHER_STATUS_FILE": path}).returncode == 0, timeout=5,
               what="usher status with USHER_STATUS_FILE to pass")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_usher_status_fails_when_the_usher_that_wrote_the_file_is_gone(usher, act, tmp_path):
    path = str(tmp_path / "status")
    u = usher(["--status-file", path, "--", *act("main")], pid1=False)
    u.wait_started("main")
    u.wait_for(lambda: status(u, "--status-file", path).returncode == 0, timeout=5, what="usher status to pass")
    main = u.first("main", "start")[4]
    os.kill(u.pid, signal.SIGKILL)  # no chance to tidy up: the file stays, its writer is gone
    u.wait()
    os.kill(main, signal.SIGKILL)  # orphaned now, out of the fixture's reach
    assert os.path.exists(path)
    r = status(None, "--status-file", path)
    assert r.returncode == 1, f"a status file whose usher is gone must not pass:\n{r.stdout}{r.stderr}"


def test_usher_status_without_a_status_file_says_so_and_fails(tmp_path):
    r = status(None, "--status-file", str(tmp_path / "nothing-here"))
    assert r.returncode == 1, r
    assert "status file" in (r.stdout + r.stderr).lower(), r


def test_usher_status_is_the_healthcheck_and_exec_probe_of_its_container(ctr, tmp_path):
    c = ctr()
    write_pod(pathlib.Path(c.dir), init=[sidecar("proxy", c.actor("proxy"))], containers=[
        container("web", c.actor("web"), readinessProbe=exec_probe(["/bin/busybox", "test", "-e", "/log/ready"],
                                                                     period=1, failures=1))])
    # The default status file (/run/usher/status): the image's root filesystem is writable.
    # The exec form (CMD, not CMD-SHELL): the image has no shell, as a Kubernetes exec probe uses none.
    c.run("-f", "/log/pod.yaml", opts=["--health-cmd", '["/usr/bin/usher", "status"]', "--health-interval", "disable"])
    c.wait_started("proxy", "web")
    r = podman("healthcheck", "run", c.name, check=False)
    assert r.returncode != 0, f"healthy before the main container is ready:\n{r.stdout}{r.stderr}"
    c.write("ready", "")
    c.wait_for(lambda: podman("healthcheck", "run", c.name, check=False).returncode == 0, timeout=10,
               what="the HEALTHCHECK (usher status) to pass")
    r = c.exec("/usr/bin/usher", "status", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["ready"] is True, r
    c.stop()
    assert c.exit_code() == 143
