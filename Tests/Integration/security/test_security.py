"""Security, with dist/usher as a real PID 1: it opens no listening socket (its probes only
connect out), it never writes an environment value to its log, its errors or `usher check`,
and a process it runs with runAsUser/runAsGroup cannot get root back."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import HELPERS, USHER
from helpers.podfile import LOOPBACK, container, exec_probe, http_probe, free_port, pre_stop_exec, sidecar, tcp_probe, write_pod
from helpers.programs import build_c

TARGET = os.path.join(HELPERS, "delayed_server.py")


# --- no listener -----------------------------------------------------------------------------

def socket_inodes(pid):
    """The inodes of the sockets pid has open."""
    out = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return out
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def listening_inodes():
    """{inode: description} of every listening TCP socket, bound UDP socket and listening unix
    socket in this network namespace (usher's too: unshare --pid keeps the network)."""
    out = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = open(f"/proc/net/{proto}").read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            local, state, inode = f[1], f[3], int(f[9])
            # TCP 0A is LISTEN; a UDP socket with a local port is bound, so it receives.
            if (proto.startswith("tcp") and state == "0A") or (proto.startswith("udp") and not local.endswith(":0000")):
                out[inode] = f"{proto} {local} state {state}"
    for line in open("/proc/net/unix").read().splitlines()[1:]:
        f = line.split()
        if int(f[3], 16) & 0x10000:  # __SO_ACCEPTCON: listening
            out[int(f[6])] = "unix " + (f[7] if len(f) > 7 else "(unnamed)")
    return out


def test_usher_opens_no_listening_socket_while_it_probes(usher, act, tmp_path, events_log):
    """A sidecar serving HTTP, gated by a tcpSocket startup probe and with an httpGet readiness
    probe; the main with an exec liveness probe and an httpGet readiness probe to a port that
    accepts connections and never answers (so usher holds each probe's socket for its 1s
    timeout), all every second. For 2.5 s every socket usher holds is looked up in /proc/net:
    none listens (TCP LISTEN, bound UDP, unix listening). The same lookup finds the sidecar's
    listening socket, so it would find one of usher's. The backend and the hole listen on
    127.0.0.1, so the probes say so (with no host they would go to the container's own address)."""
    port = free_port()
    target = [sys.executable, TARGET, "web-backend", "--log", events_log, "--port", str(port), "--http"]
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)  # never accepted: the kernel completes the connections, nobody answers
        pod = write_pod(tmp_path,
                        init=[sidecar("backend", target, startupProbe=tcp_probe(port, period=1, host=LOOPBACK),
                                      readinessProbe=http_probe(port, period=1, host=LOOPBACK))],
                        containers=[container("app", act("app"), livenessProbe=exec_probe(["true"], period=1),
                                              readinessProbe=http_probe(hole.getsockname()[1], period=1,
                                                                        timeoutSeconds=1, host=LOOPBACK))])
        u = usher(["-f", pod])
        u.wait_for(lambda: any(t.startswith("backend[") and t.endswith(" is ready") for t in u.log_texts()),
                   timeout=15, what="the backend to be ready")
        seen, found = set(), {}
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            mine = socket_inodes(u.pid)
            seen |= mine
            listening = listening_inodes()
            found.update({i: listening[i] for i in mine if i in listening})
            time.sleep(0.005)
        backend = [p for p in u.children_states() if b"web-backend" in open(f"/proc/{p}/cmdline", "rb").read()]
        assert backend and socket_inodes(backend[0]) & set(listening_inodes()), \
            "the lookup did not find the sidecar's listening socket: it could not find usher's"
        fds = sorted(os.readlink(f"/proc/{u.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{u.pid}/fd"))
        print(f"\nusher held {len(seen)} distinct sockets (its probes) in 2.5 s, none listening; its fds now: {fds}")
        assert seen, "no probe socket of usher's was ever seen: the test shows nothing"
        assert not found, f"usher has listening sockets: {found}"
        u.signal(signal.SIGTERM)
        assert u.wait() == 143


# --- no environment value in any output ------------------------------------------------------

SECRET = "s3cr3t-7f1c2d"          # a container's env value
HOST_SECRET = "h0st-s3cr3t-99aa"  # a value in usher's own environment, passed on to children


def secret_pod(tmp_path, fmt="yaml"):
    env = [{"name": "API_TOKEN", "value": SECRET}, {"name": "DERIVED", "value": "prefix-$(API_TOKEN)"}]
    flag = tmp_path / "was-ready"
    leak = 'echo "$API_TOKEN $DERIVED $DB_PASSWORD"; echo "$API_TOKEN" >&2'
    return write_pod(
        tmp_path, fmt=fmt, terminationGracePeriodSeconds=3,
        init=[sidecar("crashy", ["sh", "-c", f"{leak}; exit 3"], env=env),
              sidecar("side", ["sh", "-c", "exec sleep 30"], env=env,
                      livenessProbe=exec_probe(["sh", "-c", f"{leak}; exit 1"], period=1, failures=1))],
        containers=[container("web", ["sh", "-c", "exec sleep 30"], env=env,
                              readinessProbe=exec_probe(["sh", "-c", f"{leak}; test -e {flag} && exit 1; touch {flag}"],
                                                        period=1, failures=1),
                              lifecycle=pre_stop_exec(["sh", "-c", f"{leak}; exit 7"]))])


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_environment_value_reaches_the_log(usher, tmp_path, log_format):
    """Env values (a container's, one derived from it with $(VAR), and one in usher's own
    environment) through a whole lifecycle with events that carry details, every process
    printing the values on its stdout and stderr: a crash-looping sidecar, a failing liveness
    probe, a readiness probe that passes then fails, a preStop hook that fails, the shutdown.
    None appears in usher's log (the children's own output shares usher's stderr here, so it is
    sent to /dev/null by checking only usher's lines)."""
    u = usher(["--log-format", log_format, "-f", secret_pod(tmp_path)], env={"DB_PASSWORD": HOST_SECRET})
    u.wait_for(lambda: u.stderr().count("will be restarted in 10s") == 2 and "not ready" in u.stderr(),
               timeout=15, what="the crash loops and the readiness change")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    if log_format == "json":
        lines = [l for l in u.stderr().splitlines() if l.startswith('{"time":')]
        events = {json.loads(l)["event"] for l in lines}
        assert {"restart_scheduled", "probe_failed", "ready", "not_ready", "pre_stop_exited", "exiting"} <= events, events
    else:
        lines = u.log_lines()
        assert any("is not ready" in l for l in lines) and any("liveness probe failed" in l for l in lines), lines
    log = "\n".join(lines)
    assert "preStop" in log or "pre_stop" in log
    assert SECRET not in log and HOST_SECRET not in log, log


def test_no_environment_value_in_usher_check(tmp_path):
    """`usher check` prints each command but names the variables only. An env value must not
    reach a CI log through it, not even expanded into a command by $(VAR)."""
    pod = secret_pod(tmp_path)
    out = subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True,
                         env={**os.environ, "DB_PASSWORD": HOST_SECRET})
    assert out.returncode == 0, out.stderr
    assert "API_TOKEN" in out.stdout, "check should name the variables"
    assert SECRET not in out.stdout + out.stderr and HOST_SECRET not in out.stdout + out.stderr, out.stdout


def test_no_environment_value_in_usher_check_when_command_references_it(tmp_path):
    pod = write_pod(tmp_path, containers=[container(
        "web", ["/app/server", "--token=$(API_TOKEN)"], env=[{"name": "API_TOKEN", "value": SECRET}])])
    out = subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stdout + out.stderr, out.stdout


@pytest.mark.parametrize("name, text", [
    ("unterminated-quote", 'containers:\n  - name: web\n    command: ["x"]\n    env: [{name: A, value: "%s}]\n'),
    ("bad-escape", 'containers:\n  - name: web\n    command: ["x"]\n    env: [{name: A, value: "\\xZZ %s"}]\n'),
    ("unknown-field", 'containers:\n  - name: web\n    command: ["x"]\n    env: [{name: A, value: "%s", valu: 1}]\n'),
    ("wrong-type", 'containers:\n  - name: web\n    command: ["x"]\n    env: [{name: A, value: [%s]}]\n'),
    ("duplicate", 'containers:\n  - name: web\n    command: ["x"]\n    env:\n    - name: A\n      value: %s\n      value: b\n'),
    ("value-from", 'containers:\n  - name: web\n    command: ["x"]\n    env: [{name: A, value: %s, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n'),
    ("tab-in-value", 'containers:\n  - name: web\n    command: ["x"]\n    env:\n\t- {name: A, value: %s}\n'),
])
def test_no_environment_value_in_configuration_errors(usher, tmp_path, name, text):
    """A pod file that is wrong on the very line of a secret value: the error gives the place
    and the reason, exit status 2, and never quotes the value."""
    path = tmp_path / "pod.yaml"
    path.write_text(text % SECRET)
    u = usher(["-f", str(path)])
    assert u.wait() == 2
    err = u.stderr()
    assert err.startswith(f"usher: {path}:"), err
    assert SECRET not in err, err


# --- runAsUser cannot get root back ----------------------------------------------------------

@pytest.fixture
def privcheck():
    """The privcheck helper, and a setuid-root copy of it, in a folder uid 1000 can use."""
    d = tempfile.mkdtemp(prefix="usher-priv-")
    os.chmod(d, 0o777)
    plain, setuid = os.path.join(d, "privcheck"), os.path.join(d, "privcheck-setuid")
    shutil.copy(build_c("privcheck.c"), plain)
    shutil.copy(plain, setuid)
    os.chown(setuid, 0, 0)
    os.chmod(plain, 0o755)
    os.chmod(setuid, 0o4755)
    yield d, plain, setuid
    shutil.rmtree(d, ignore_errors=True)


def report(path):
    out = {}
    for line in open(path).read().splitlines():
        w = line.split()
        if w[0] == "try":
            out[f"try {w[1]}"] = w[2:]
        else:
            out[w[0]] = w[1:]
    return out


@pytest.mark.parametrize("escalation", [None, False], ids=["default", "allowPrivilegeEscalation-false"])
def test_a_run_as_user_process_cannot_regain_root(usher, tmp_path, privcheck, escalation):
    """runAsUser 1000, runAsGroup 1000: real, effective and saved ids are all 1000, no
    supplementary group, no capability (permitted, effective, inheritable, ambient); setuid(0),
    setgid(0), setgroups, setresuid/setresgid to 0 and signalling usher (PID 1, root) all fail
    with EPERM. A setuid-root binary is the one way back, as in Kubernetes: it works by default
    (allowPrivilegeEscalation defaults to true) and not with allowPrivilegeEscalation: false."""
    folder, plain, setuid = privcheck
    out = os.path.join(folder, "report")
    ctx = {"runAsUser": 1000, "runAsGroup": 1000}
    if escalation is not None:
        ctx["allowPrivilegeEscalation"] = escalation
    pod = write_pod(tmp_path, containers=[container("probe", [plain, out, "--exec", setuid], securityContext=ctx)])
    u = usher(["-f", pod])
    assert u.wait() == 0, u.stderr()
    r = report(out)
    print(f"\n{escalation=}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in r.items()))
    assert r["resuid"] == ["1000"] * 3 and r["resgid"] == ["1000"] * 3, r
    assert r["groups"] == ["0"], f"supplementary groups: {r['groups']}"
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(r[cap][0], 16) == 0, f"{cap} {r[cap][0]}"
    for attempt in ("setuid0", "setgid0", "setgroups0", "setresuid0", "setresgid0", "kill1"):
        assert r[f"try {attempt}"] == ["EPERM"], (attempt, r[f"try {attempt}"])
    if escalation is False:
        assert r["NoNewPrivs"] == ["1"]
        assert r["euid-after-setuid-exec"] == ["1000"], "no_new_privs must keep a setuid binary from regaining root"
    else:
        assert r["NoNewPrivs"] == ["0"]
        assert r["euid-after-setuid-exec"] == ["0"], "as in Kubernetes by default, a setuid-root binary runs as root"


def test_usher_check_shows_the_group_a_run_as_user_process_runs_with(tmp_path, usher):
    """runAsUser without runAsGroup: the process runs with the user's primary group from the
    image's /etc/passwd, or 0 without an entry (as container runtimes choose it). `usher check`
    must show that group: it printed `user 4242` alone while the process ran with group 0,
    because the group was resolved inside the run only."""
    shared = tempfile.mkdtemp(prefix="usher-group-")  # a folder uid 4242 can write to
    os.chmod(shared, 0o777)
    out = os.path.join(shared, "ids")
    pod = write_pod(tmp_path, containers=[container("app", ["/bin/sh", "-c", f"id -g > {out}"],
                                                    securityContext={"runAsUser": 4242})])
    shown = subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True, timeout=10)
    assert shown.returncode == 0, shown.stderr
    assert "user 4242; group 0" in shown.stdout, shown.stdout
    u = usher(["-f", pod])
    assert u.wait() == 0, u.stderr()
    assert open(out).read().strip() == "0"
    shutil.rmtree(shared, ignore_errors=True)
