"""sd_notify: when usher runs with NOTIFY_SOCKET set (podman --sdnotify=container, systemd), it
sends READY=1 once everything is started and ready, STOPPING=1 when the shutdown begins, and
STATUS=... lines, as datagrams to that unix socket (a path, or an abstract name written @name); the
children do not see NOTIFY_SOCKET."""
import os
import pathlib
import socket
import signal
import subprocess
import threading
import time
import uuid

import pytest

from helpers.podfile import container, exec_probe, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


class Listener:
    """A bound unix datagram socket that records every datagram with its arrival time."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages = []  # [(monotonic_ns, [lines])]
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic_ns(), data.decode(errors="replace").split("\n")))

    def lines(self):
        return [(t, l) for t, ls in list(self.messages) for l in ls if l]

    def first(self, line):
        found = [t for t, l in self.lines() if l == line]
        return found[0] if found else None

    def wait_for(self, line, u, timeout=6):
        """u: the Usher (or Container) whose log the failure shows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.first(line) is not None:
                return self.first(line)
            time.sleep(0.02)
        log = u.stderr() if hasattr(u, "stderr") else u.logs()
        raise AssertionError(f"no {line} datagram within {timeout}s; got {self.lines()}\nusher's log:\n{log}")

    def close(self):
        self.done = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listen():
    made = []

    def make(address):
        s = Listener(address)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def env_seen(u, name, var):
    found = [e for e in u.find(name, "envhex") if e[2].startswith(var + "=")]
    assert found, f"{name} did not report {var}: {u.events()}"
    return found[0][2].split("=", 1)[1]


@MODES
def test_ready_once_every_container_is_ready_then_stopping_at_the_shutdown(usher, act, listen, tmp_path, pid1):
    address = str(tmp_path / "notify.sock")
    n = listen(address)
    flag = tmp_path / "ready"
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy", "--env-hex", "NOTIFY_SOCKET"))],
                    containers=[container("web", act("web", "--env-hex", "NOTIFY_SOCKET", "--linger", 500),
                                          readinessProbe=exec_probe(["test", "-e", str(flag)], period=1, failures=1))])
    u = usher(["-f", pod], pid1=pid1, env={"NOTIFY_SOCKET": address})
    u.wait_started("proxy", "web")
    # Started but not ready: at least two probe periods without READY=1.
    time.sleep(2.5)
    assert n.first("READY=1") is None, f"READY=1 before the main container was ready: {n.lines()}"
    made_ready = time.monotonic_ns()
    flag.touch()
    ready = n.wait_for("READY=1", u)
    assert ready >= made_ready
    assert any(l.startswith("STATUS=") for _, l in n.lines()), f"no STATUS= line: {n.lines()}"
    asked = u.signal(signal.SIGTERM)
    stopping = n.wait_for("STOPPING=1", u)
    assert stopping >= asked
    assert u.wait() == 143
    # web lingers 500ms after its SIGTERM: STOPPING=1 comes when the shutdown begins, not at its end.
    assert stopping < u.first("web", "exit")[3], "STOPPING=1 came only after the main container had exited"
    assert len([l for _, l in n.lines() if l == "READY=1"]) == 1, n.lines()
    # The children never see usher's own NOTIFY_SOCKET.
    assert env_seen(u, "proxy", "NOTIFY_SOCKET") == "-" and env_seen(u, "web", "NOTIFY_SOCKET") == "-"


@MODES
def test_an_abstract_notify_socket_and_the_command_line(usher, act, listen, pid1):
    name = "usher-test-" + uuid.uuid4().hex[:12]
    n = listen("\0" + name)
    u = usher(["--sidecar", "side=" + act.line("side", "--env-hex", "NOTIFY_SOCKET"),
               "--", *act("main", "--env-hex", "NOTIFY_SOCKET")], pid1=pid1, env={"NOTIFY_SOCKET": "@" + name})
    u.wait_started("side", "main")
    ready = n.wait_for("READY=1", u)
    assert ready >= u.first("side", "start")[3] - 50_000_000, "READY=1 before the sidecar had started"
    u.signal(signal.SIGTERM)
    n.wait_for("STOPPING=1", u)
    assert u.wait() == 143
    assert env_seen(u, "side", "NOTIFY_SOCKET") == "-" and env_seen(u, "main", "NOTIFY_SOCKET") == "-"


def test_no_notify_socket_no_datagrams_and_a_dead_socket_does_not_stop_usher(usher, act, tmp_path):
    """NOTIFY_SOCKET naming a path nobody listens on: usher runs as it would without it."""
    u = usher(["--", *act("main")], env={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})
    u.wait_started("main")
    time.sleep(0.3)
    assert u.running()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_podman_sdnotify_container_passes_usher_ready_on(ctr, listen, tmp_path):
    """podman run --sdnotify=container: podman gives the container a NOTIFY_SOCKET of its own
    (/run/notify/notify.sock) and passes READY=1 on to its own NOTIFY_SOCKET (this test's), after
    MAINPID=. usher, as PID 1, must be the one that says READY=1, once the pod is ready."""
    c = ctr()
    address = str(tmp_path / "podman-notify.sock")
    n = listen(address)
    write_pod(pathlib.Path(c.dir), init=[sidecar("proxy", c.actor("proxy", "--env-hex", "NOTIFY_SOCKET"))],
              containers=[container("web", c.actor("web", "--env-hex", "NOTIFY_SOCKET"),
                                    readinessProbe=exec_probe(["/bin/busybox", "test", "-e", "/log/ready"],
                                                              period=1, failures=1))])
    # podman run -d --sdnotify=container may wait for READY=1 before it returns: run it aside.
    run = subprocess.Popen(["podman", "run", "-d", "--name", c.name, "--sdnotify=container", "-v", f"{c.dir}:/log",
                            "--entrypoint", "/usr/bin/usher", c.images.full, "-f", "/log/pod.yaml"],
                           env={**os.environ, "NOTIFY_SOCKET": address},
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=c.dir)
    try:
        c.wait_started("proxy", "web")
        time.sleep(2.5)
        assert n.first("READY=1") is None, f"READY=1 before the main container was ready: {n.lines()}\n{c.logs()}"
        made_ready = time.monotonic_ns()
        c.write("ready", "")
        assert n.wait_for("READY=1", c, timeout=10) >= made_ready
        run.wait(timeout=30)
        for name in ("proxy", "web"):
            seen = [e[2] for e in c.find(name, "envhex") if e[2].startswith("NOTIFY_SOCKET=")]
            assert seen == ["NOTIFY_SOCKET=-"], f"{name} must not see usher's NOTIFY_SOCKET: {seen}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    c.stop()
    assert c.exit_code() == 143
