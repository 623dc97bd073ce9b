"""`usher -f POD`: what each container's process is given: securityContext.runAsUser/runAsGroup
(the pod's as defaults) with no supplementary groups, workingDir, env (with `$(VAR)` expanded in
command and args), and the same for its preStop hook and exec probes, as they run in the
container in Kubernetes. Each process writes what it sees into a world-writable folder."""
import os
import shutil
import signal
import tempfile

import pytest

from helpers.podfile import container, exec_probe, pre_stop_exec, sidecar, write_pod

IDENTITY = "grep -E '^(Uid|Gid|Groups):' /proc/self/status > {out}; exec sleep 100"


@pytest.fixture
def shared_dir():
    """A folder any user may write to (pytest's tmp_path is private to root)."""
    d = tempfile.mkdtemp(prefix="usher-pod-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def identity(path):
    """{'Uid': [...4 ids], 'Gid': [...], 'Groups': [...]} from a /proc/self/status excerpt."""
    out = {}
    for line in open(path).read().splitlines():
        key, _, rest = line.partition(":")
        out[key] = rest.split()
    return out


def wait_for_files(u, *paths):
    u.wait_for(lambda: all(os.path.exists(p) and os.path.getsize(p) > 0 for p in paths), timeout=10,
               what=f"{paths} to be written")


def test_run_as_user_and_group_with_the_pod_s_as_defaults_and_no_supplementary_groups(usher, tmp_path, shared_dir):
    out = {n: os.path.join(shared_dir, n) for n in ("both", "user-only", "group-only", "pod-default")}
    sh = lambda name: ["sh", "-c", IDENTITY.format(out=out[name])]  # noqa: E731
    pod = write_pod(
        tmp_path, securityContext={"runAsUser": 1001, "runAsGroup": 2002},
        init=[sidecar("pod-default", sh("pod-default"))],
        containers=[container("both", sh("both"), securityContext={"runAsUser": 3003, "runAsGroup": 4004}),
                    container("user-only", sh("user-only"), securityContext={"runAsUser": 5005}),
                    container("group-only", sh("group-only"), securityContext={"runAsGroup": 6006})])
    u = usher(["-f", pod])
    wait_for_files(u, *out.values())
    expect = {"pod-default": ("1001", "2002"), "both": ("3003", "4004"),
              "user-only": ("5005", "2002"), "group-only": ("1001", "6006")}
    for name, (uid, gid) in expect.items():
        got = identity(out[name])
        assert got["Uid"] == [uid] * 4, (name, got)
        assert got["Gid"] == [gid] * 4, (name, got)
        assert got["Groups"] == [], f"{name} kept supplementary groups: {got}"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_run_as_user_without_any_group_gets_group_0_and_no_supplementary_groups(usher, tmp_path, shared_dir):
    out = os.path.join(shared_dir, "id")
    pod = write_pod(tmp_path, containers=[container("web", ["sh", "-c", IDENTITY.format(out=out)],
                                                    securityContext={"runAsUser": 1234})])
    # usher itself runs with a supplementary group here: the child must not inherit it.
    u = usher(["-f", pod], preexec_fn=lambda: (os.setgroups([27, 100]), os.setsid()))
    wait_for_files(u, out)
    got = identity(out)
    assert got["Uid"] == ["1234"] * 4 and got["Gid"] == ["0"] * 4 and got["Groups"] == [], got
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_allow_privilege_escalation_false_sets_no_new_privs(usher, tmp_path, shared_dir):
    out = {n: os.path.join(shared_dir, n) for n in ("locked", "default")}
    report = "grep -E '^(Uid|NoNewPrivs|CapEff):' /proc/self/status > {out}; exec sleep 100"
    pod = write_pod(tmp_path, containers=[
        container("locked", ["sh", "-c", report.format(out=out["locked"])],
                  securityContext={"runAsUser": 1234, "allowPrivilegeEscalation": False}),
        container("default", ["sh", "-c", report.format(out=out["default"])], securityContext={"runAsUser": 1234})])
    u = usher(["-f", pod])
    wait_for_files(u, *out.values())
    locked, default = identity(out["locked"]), identity(out["default"])
    assert locked["NoNewPrivs"] == ["1"], locked
    assert default["NoNewPrivs"] == ["0"], "Kubernetes' default allows escalation (setuid binaries)"
    assert locked["CapEff"] == default["CapEff"] == ["0000000000000000"], "no capabilities after the user switch"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_working_dir_env_and_expansion_in_command_and_args(usher, tmp_path, shared_dir):
    out = os.path.join(shared_dir, "web")
    other = os.path.join(shared_dir, "other")
    script = ('{ pwd; echo "GREETING=$GREETING"; echo "URL=$URL"; echo "SHARED=$SHARED"; '
              'echo "OVERRIDE=$OVERRIDE"; echo "arg=$1"; echo "second=$2"; } > ' + out + '.part; mv ' + out + '.part ' + out + '; exec sleep 100')
    pod = write_pod(tmp_path, containers=[
        container("web", ["sh", "-c", script, "sh"], workingDir=shared_dir,
                  env=[{"name": "GREETING", "value": "hello world"},
                       {"name": "URL", "value": "http://$(HOST):8080"},
                       {"name": "HOST", "value": "db"},
                       {"name": "OVERRIDE", "value": "from-pod"}],
                  args=["$(GREETING)/$(HOST)", "$$(GREETING) $(UNDEFINED)"]),
        container("other", ["sh", "-c", 'echo "GREETING=${GREETING-unset} OVERRIDE=$OVERRIDE" > ' + other
                            + "; exec sleep 100"])])
    u = usher(["-f", pod], env={"SHARED": "from-usher", "OVERRIDE": "from-usher"})
    wait_for_files(u, out, other)
    lines = open(out).read().splitlines()
    assert lines == [
        shared_dir,
        "GREETING=hello world",
        "URL=http://$(HOST):8080",  # HOST is defined after URL: the reference stays as written
        "SHARED=from-usher",        # usher's environment plays the image's
        "OVERRIDE=from-pod",
        "arg=hello world/db",       # command and args see the container's whole env
        "second=$(GREETING) $(UNDEFINED)",
    ], lines
    assert open(other).read().strip() == "GREETING=unset OVERRIDE=from-usher", "env is per container"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert "hello world" not in u.stderr(), "the log never shows environment values"


def test_pre_stop_hook_and_exec_probe_run_as_the_container(usher, tmp_path, shared_dir):
    """In Kubernetes both run inside the container: same user, group, env and working dir."""
    probe_out, hook_out = os.path.join(shared_dir, "probe"), os.path.join(shared_dir, "hook")
    report = '{ id -u; id -g; pwd; echo "$ROLE"; } > %s.part && mv %s.part %s'
    report_to = lambda out: ["sh", "-c", report % (out, out, out)]  # noqa: E731 - whole or not at all
    pod = write_pod(tmp_path, securityContext={"runAsUser": 1500, "runAsGroup": 1600}, containers=[
        container("web", ["sleep", "100"], workingDir=shared_dir, env=[{"name": "ROLE", "value": "web"}],
                  startupProbe=exec_probe(report_to(probe_out), period=1),
                  lifecycle=pre_stop_exec(report_to(hook_out)))])
    u = usher(["-f", pod])
    wait_for_files(u, probe_out)
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    expect = ["1500", "1600", shared_dir, "web"]
    assert open(probe_out).read().splitlines() == expect
    assert open(hook_out).read().splitlines() == expect
