"""`usher -f FILE` / `--config FILE` / `USHER_CONFIG`: reading the pod file. Every Kubernetes kind
with a pod (and a bare PodSpec) in YAML or JSON; `usher check -f` prints the plan and starts
nothing; a configuration error is exit 2, with FILE:LINE:COLUMN, and nothing started."""
import os
import re
import signal
import subprocess

import pytest

from conftest import USHER
from helpers.podfile import (container, document, dump, exec_probe, pod_spec, pre_stop_exec, pre_stop_sleep,
                             sidecar, tcp_probe, write_pod)

KINDS = ["PodSpec", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]


def run(args, env=None, **kw):
    """usher run directly (not as PID 1): for check and for errors found before anything starts."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    full.update(env or {})
    return subprocess.run([USHER, *args], capture_output=True, text=True, env=full, timeout=20, **kw)


def small_pod(tmp_path, act, **kw):
    return write_pod(tmp_path, init=[container("setup", act("setup", "--exit-after", 0)),
                                     sidecar("proxy", act("proxy"))],
                     containers=[container("web", act("web"))], **kw)


def assert_runs_the_pod(u):
    # proxy too: a SIGTERM that comes before the sidecar's actor has set its handlers kills it
    # silently (no "signal" line), which happened under load.
    u.wait_started("proxy", "web")
    assert u.first("setup", "exit")[3] <= u.first("web", "start")[3]
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert u.first("proxy", "signal", "15")[3] >= u.first("web", "exit")[3]


# --- running from a file ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["-f", "--config", "--config=", "USHER_CONFIG"])
def test_the_file_can_be_given_by_flag_or_variable(usher, act, tmp_path, how):
    pod = small_pod(tmp_path, act)
    if how == "USHER_CONFIG":
        u = usher([], env={"USHER_CONFIG": pod})
    elif how.endswith("="):
        u = usher([how + pod])
    else:
        u = usher([how, pod])
    assert_runs_the_pod(u)


def test_the_flag_wins_over_usher_config(usher, act, tmp_path):
    pod = small_pod(tmp_path, act)
    u = usher(["-f", pod], env={"USHER_CONFIG": str(tmp_path / "missing.yaml")})
    assert_runs_the_pod(u)


def test_json_works_as_yaml_does(usher, act, tmp_path):
    pod = small_pod(tmp_path, act, fmt="json", kind="Deployment")
    assert open(pod).read().lstrip().startswith("{")
    assert_runs_the_pod(usher(["-f", pod]))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_with_a_pod_template_is_read(tmp_path, act, kind):
    pod = small_pod(tmp_path, act, kind=kind)
    r = run(["check", "-f", pod])
    assert r.returncode == 0, r.stderr
    heads = [l.strip() for l in r.stdout.splitlines() if re.match(r"^  \d+\. \w+: ", l)]
    assert [h.split(":")[0] for h in heads] == ["1. setup", "2. proxy", "3. web", "1. web", "2. proxy"], r.stdout


def test_a_file_with_other_documents_runs_the_one_with_a_pod(tmp_path, act):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": 80}]}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "data": {"a": "b"}}
    deployment = document(pod_spec([container("web", act("web"))]), "Deployment")
    path = tmp_path / "all.yaml"
    path.write_text("---\n".join(dump(d) for d in (service, deployment, config)))
    r = run(["check", "-f", str(path)])
    assert r.returncode == 0, r.stderr
    assert "  1. web: main container" in r.stdout


# --- usher check ----------------------------------------------------------------------------------

def test_check_prints_the_plan_and_starts_nothing(tmp_path):
    marker = tmp_path / "marker"
    pod = write_pod(
        tmp_path, kind="Deployment", terminationGracePeriodSeconds=20, os={"name": "linux"},  # for stopSignal
        init=[container("migrate", ["touch", marker], env=[{"name": "DB_PASSWORD", "value": "hunter2"}]),
              sidecar("proxy", ["touch", marker], startupProbe=tcp_probe(8080, failures=3),
                      lifecycle={**pre_stop_sleep(2), "stopSignal": "SIGQUIT"})],
        containers=[container("web", ["touch", marker], lifecycle=pre_stop_exec(["sleep", "1"]),
                              readinessProbe=exec_probe(["test", "-f", "/tmp/ready"], period=5)),
                    container("worker", ["touch", marker])])
    r = run(["check", "-f", pod])
    assert r.returncode == 0, r.stderr
    assert not marker.exists(), "usher check started something"
    out = r.stdout
    lines = out.splitlines()
    heads = [l for l in lines if re.match(r"^  \d+\. ", l)]
    assert [h.split(":")[0].strip() for h in heads] == [
        "1. migrate", "2. proxy", "3. web", "4. worker", "1. web", "1. worker", "2. proxy"], out
    start, stop = heads[:4], heads[4:]
    assert "init container" in start[0] and "sidecar" in start[1] and "startup probe" in start[1]
    assert "main container" in start[2] and "main container" in start[3]
    # No host: the container's own address (the pod IP, as the kubelet probes), or 127.0.0.1.
    assert re.search(r"startup probe: tcpSocket \d+\.\d+\.\d+\.\d+:8080 \(no host: the container's own address\), "
                     r"every 1s, timeout 1s, fails after 3", out), out
    assert "startup stays blocked" in out, "the warning about a sidecar's startup probe"
    # The init container and the two mains say what their end does (a sidecar says it in its head line).
    assert len([l for l in lines if l.strip().startswith("when it ends: ")]) == 3, out
    assert "readiness probe: exec test -f /tmp/ready, every 5s" in out
    assert "one deadline of 20s for the whole shutdown" in out
    assert "  every preStop starts at once; each stop signal follows its own preStop and its turn:" in lines, out
    assert lines.index("  every preStop starts at once; each stop signal follows its own preStop and its turn:") \
        < lines.index(stop[0])
    assert "  stop window: 2s before the deadline every process still waiting gets its stop signal" in lines, out
    assert stop[0].strip().startswith("1. web: preStop exec sleep 1, waited for, then SIGTERM")
    assert stop[1].strip().startswith("1. worker: SIGTERM")
    assert stop[2].strip().startswith("2. proxy: preStop sleep 2s, then SIGQUIT")
    assert "other signals are forwarded to: web, worker" in out
    assert "DB_PASSWORD" in out and "hunter2" not in out, "variable names, never values"
    # --grace overrides terminationGracePeriodSeconds in the plan too.
    r = run(["check", "--grace", "5s", "-f", pod])
    assert "one deadline of 5s for the whole shutdown" in r.stdout, r.stdout


def test_check_reports_a_config_error_as_a_run_would(tmp_path):
    path = tmp_path / "pod.yaml"
    path.write_text("containers:\n  - name: web\n    comand: [true]\n")
    r = run(["check", "-f", str(path)])
    assert r.returncode == 2 and r.stdout == ""
    assert f'{path}:3:5: unknown field "comand" in containers[0] (did you mean "command"?)' in r.stderr


# --- configuration errors: exit 2, nothing started -----------------------------------------------

def bad_pod(tmp_path, marker, body):
    """A pod whose first init container would leave a marker file, followed by `body`."""
    path = tmp_path / "pod.yaml"
    path.write_text(f"initContainers:\n  - name: first\n    command: [touch, {marker}]\n" + body)
    return str(path)


def assert_config_error(u, marker, message):
    assert u.wait() == 2
    err = u.stderr()
    assert message in err, err
    assert not os.path.exists(marker), "something was started despite the error"
    assert not u.log_lines(), "no lifecycle events: nothing started"


def test_unknown_field_names_file_line_column_and_suggests_the_right_one(usher, tmp_path):
    marker = tmp_path / "marker"
    pod = bad_pod(tmp_path, marker, "containers:\n  - name: web\n    comand: [touch, x]\n")
    u = usher(["-f", pod])
    assert_config_error(u, marker, f'{pod}:6:5: unknown field "comand" in containers[0] (did you mean "command"?)')


def test_unknown_field_in_a_pod_gives_its_full_path(usher, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "pod.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nspec:\n  initContainers:\n"
                    f"    - name: first\n      command: [touch, {marker}]\n"
                    "  containers:\n    - name: web\n      comand: [x]\n")
    u = usher(["-f", str(path)])
    assert_config_error(u, marker, f'{path}:9:7: unknown field "comand" in spec.containers[0] (did you mean "command"?)')


def test_a_command_together_with_a_file_is_a_usage_error(usher, tmp_path):
    marker = tmp_path / "marker"
    cmd_marker = tmp_path / "cmd-marker"
    pod = bad_pod(tmp_path, marker, "containers:\n  - name: web\n    command: [sleep, '1']\n")
    for args in (["-f", pod, "--", "touch", str(cmd_marker)], ["-f", pod, "touch", str(cmd_marker)]):
        u = usher(args)
        assert_config_error(u, marker, "and a command on the command line: use one or the other")
        assert not cmd_marker.exists()
    u = usher(["touch", str(cmd_marker)], env={"USHER_CONFIG": pod})
    assert_config_error(u, marker, "USHER_CONFIG")
    assert not cmd_marker.exists()


@pytest.mark.parametrize("body, line, col", [
    ("containers:\n  - name: web\n    command: [sleep]: 1\n", 6, 21),
    ("containers:\n  - name: web\n\tcommand: [sleep]\n", 6, 1),
    ('containers:\n  - name: web\n    command: "sleep\n', 7, 1),
])
def test_a_yaml_syntax_error_names_file_line_and_column(usher, tmp_path, body, line, col):
    marker = tmp_path / "marker"
    pod = bad_pod(tmp_path, marker, body)
    u = usher(["-f", pod])
    assert_config_error(u, marker, f"{pod}:{line}:{col}: YAML syntax error: ")


def test_a_missing_file_is_a_usage_error(usher, tmp_path):
    missing = str(tmp_path / "nope.yaml")
    for args, env in ((["-f", missing], None), ([], {"USHER_CONFIG": missing})):
        u = usher(args, env=env)
        assert u.wait() == 2
        assert missing in u.stderr() and "No such file or directory" in u.stderr(), u.stderr()
        assert not u.log_lines()


@pytest.mark.parametrize("body, message", [
    ("containers: []\n", "containers: must list at least one container"),
    ("containers:\n  - name: Web\n    command: [x]\n", '"Web" is not a valid name'),
    ("containers:\n  - name: web\n    command: [x]\n  - name: first\n    command: [z]\n", "is already the name of"),
    ("containers:\n  - name: web\n", "command"),
    ("containers:\n  - name: web\n    command: [x]\n    restartPolicy: Sometimes\n", "is not a restart policy"),
    ("containers:\n  - name: web\n    command: [x]\n    lifecycle: {stopSignal: SIGKILL}\nos: {name: linux}\n", "cannot be caught"),
    ("containers:\n  - name: web\n    command: [x]\n    lifecycle: {stopSignal: SIGQUIT}\n", "requires spec.os.name: linux"),
    ("containers:\n  - name: web\n    command: [x]\n    startupProbe: {grpc: {port: 1}}\n", "gRPC probes are not supported"),
    ("containers:\n  - name: web\n    command: [x]\n    envFrom: [{configMapRef: {name: c}}]\n", "envFrom"),
])
def test_other_config_errors_are_exit_2_with_a_position_and_start_nothing(usher, tmp_path, body, message):
    marker = tmp_path / "marker"
    pod = bad_pod(tmp_path, marker, body)
    u = usher(["-f", pod])
    assert_config_error(u, marker, message)
    assert re.search(re.escape(pod) + r":\d+:\d+: ", u.stderr()), u.stderr()
