"""A termination message Kubernetes shows: when usher exits and /dev/termination-log (or
`--termination-log PATH`, USHER_TERMINATION_LOG) exists and is writable, usher writes one short line
there saying why the container stopped: which process ended first and how, or which were killed at
the deadline. Never an environment value; the default path is not created when it does not exist.

The default path is tested as PID 1 with a /dev of the test's own (a host folder bind-mounted
over /dev in usher's mount namespace, holding /dev/null and friends), so that the host's /dev is
never touched and the test can read what usher left there; and in podman, with a file mounted
at /dev/termination-log as the kubelet mounts one."""
import re
import shlex
import signal

import pytest

from helpers.podfile import container, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
SECRET = "hunter2-termination-secret"


def own_dev(dev_dir):
    """`wrap` words for Usher: /dev becomes dev_dir (with the usual device nodes bound in)."""
    d = shlex.quote(str(dev_dir))
    script = (f"set -e; for n in null zero full random urandom tty; do [ -e /dev/$n ] || continue; "
              f": > {d}/$n; mount --bind /dev/$n {d}/$n; done; mount --rbind {d} /dev; exec \"$0\" \"$@\"")
    return ["sh", "-c", script]


def message(path):
    text = open(path).read()
    lines = text.splitlines()
    assert len(lines) == 1, f"the termination message should be one line, got {text!r}"
    assert 0 < len(lines[0]) <= 1024, f"the termination message should be short, got {len(lines[0])} bytes"
    assert SECRET not in text, f"an environment value reached the termination message: {text!r}"
    return lines[0]


def web(act, *opts):
    return container("web", act("web", *opts), env=[{"name": "API_KEY", "value": SECRET}])


def test_the_default_termination_log_gets_the_reason_when_it_exists(usher, act, tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "termination-log").write_text("")
    pod = write_pod(tmp_path, containers=[web(act, "--exit-after", 300, "--code", 3)])
    u = usher(["-f", pod], wrap=own_dev(dev), env={"DB_PASSWORD": SECRET})
    assert u.wait(timeout=30) == 3, u.stderr()
    line = message(dev / "termination-log")
    assert "web" in line and re.search(r"\b3\b", line), line


def test_the_default_termination_log_is_not_created(usher, act, tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    pod = write_pod(tmp_path, containers=[web(act, "--exit-after", 300, "--code", 3)])
    u = usher(["-f", pod], wrap=own_dev(dev))
    assert u.wait(timeout=30) == 3, u.stderr()
    u.first("web", "start")  # usher did run with this /dev
    assert not (dev / "termination-log").exists(), "usher must not create /dev/termination-log"


@MODES
@pytest.mark.parametrize("case", ["main-exited", "main-stopped", "killed-at-deadline", "init-failed"])
def test_the_termination_log_says_what_ended_first_and_how(usher, act, tmp_path, pid1, case):
    log = tmp_path / "termination-log"
    log.write_text("")
    stubborn = sidecar("stubborn", act("stubborn", "--ignore", "TERM"))
    if case == "main-exited":
        pod = write_pod(tmp_path, containers=[web(act, "--exit-after", 300, "--code", 3)])
    elif case == "main-stopped":
        pod = write_pod(tmp_path, containers=[web(act)])
    elif case == "killed-at-deadline":
        pod = write_pod(tmp_path, init=[stubborn], containers=[web(act, "--code", 0)], terminationGracePeriodSeconds=2)
    else:
        pod = write_pod(tmp_path, init=[container("migrate", act("migrate", "--exit-after", 100, "--code", 4))],
                        containers=[web(act)])
    u = usher(["--termination-log", str(log), "-f", pod], pid1=pid1, env={"DB_PASSWORD": SECRET})
    if case in ("main-stopped", "killed-at-deadline"):
        u.wait_started("web", *(["stubborn"] if case == "killed-at-deadline" else []))
        u.signal(signal.SIGTERM)
    code = u.wait(timeout=30)
    assert code == {"main-exited": 3, "main-stopped": 143, "killed-at-deadline": 0, "init-failed": 120}[case], u.stderr()
    line = message(log)
    if case == "main-exited":
        assert "web" in line and re.search(r"\b3\b", line), line
    elif case == "main-stopped":
        assert "web" in line and re.search(r"\b143\b|SIGTERM", line), line
    elif case == "killed-at-deadline":
        assert "stubborn" in line, f"the message should name what was killed at the deadline: {line}"
    else:
        assert "migrate" in line and re.search(r"\b4\b", line), line


def test_usher_termination_log_variable(usher, act, tmp_path):
    log = tmp_path / "message"
    log.write_text("")
    u = usher(["--", *act("main", "--exit-after", 200, "--code", 5)], env={"USHER_TERMINATION_LOG": str(log)})
    assert u.wait() == 5
    line = message(log)
    assert "actor" in line and re.search(r"\b5\b", line), line


def test_in_podman_the_mounted_termination_log_gets_the_reason(ctr):
    c = ctr()
    log = c.write("termination-log", "", mode=0o666)
    c.run("--sidecar", "side=" + c.actor_line("side"), "--", *c.actor("main"),
          opts=["-v", f"{log}:/dev/termination-log", "-e", f"DB_PASSWORD={SECRET}"])
    c.wait_started("side", "main")
    c.stop()
    assert c.exit_code() == 143
    line = message(log)
    assert "actor" in line and re.search(r"\b143\b|SIGTERM", line), line
