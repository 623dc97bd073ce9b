"""The examples under images/examples/ that run a pod file, run as they are with dist/usher as
a real PID 1 (unshare): their start order, their shutdown order and usher's exit status. Their
processes are busybox sh scripts (busybox-static, from make deps); SHARED_DIR points their shared
folder at the test's own. One test also runs pod-with-sidecars as an image in podman."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone

import pytest

from conftest import ROOT, USHER

POD_DEMO = os.path.join(ROOT, "images/examples/pod-with-sidecars")
JOB_DEMO = os.path.join(ROOT, "images/examples/job-with-sidecar")
PROXY_PORT = 18080  # fixed in deployment.yaml


@pytest.fixture(autouse=True)
def busybox():
    if shutil.which("busybox") is None:
        pytest.fail("busybox is missing: make deps installs Debian's busybox-static")


def names(texts, suffix):
    """The process names of the log lines ending with (or containing) `suffix`, in order."""
    return [t.split("[")[0] for t in texts if suffix in t]


def at(line):
    """The timestamp of a lifecycle log line, in seconds."""
    stamp = datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def line_with(u, text):
    found = [l for l in u.log_lines() if text in l]
    assert found, f"no log line with {text!r}:\n{u.stderr()}"
    return found[0]


def test_pod_with_sidecars_starts_in_order_and_shuts_down_in_reverse(usher, tmp_path):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("", PROXY_PORT))  # the example's proxy listens on every address
        except OSError:
            pytest.fail(f"port {PROXY_PORT}, which the example's proxy uses, is taken on this machine")
    u = usher(["-f", os.path.join(POD_DEMO, "deployment.yaml")], env={"SHARED_DIR": str(tmp_path)},
              stdout_file=True)
    u.wait_for(lambda: any(re.match(r"app\[\d+\] is ready$", t) for t in u.log_texts()), timeout=20,
               what="the app to be ready")
    sent = time.time()
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 0, u.stderr()
    texts = u.log_texts()
    assert names(texts, "] started") == ["prepare", "log-shipper", "proxy", "app"], texts
    order = [i for i, t in enumerate(texts) if re.match(
        r"(prepare\[\d+\] exited with status 0 .*: init done|log-shipper\[\d+\] started|"
        r"proxy\[\d+\] startup probe passed|app\[\d+\] started|app\[\d+\] is ready)", t)]
    assert len(order) == 5 and order == sorted(order), texts
    assert names(texts, " stopping with SIGTERM") == ["app", "proxy", "log-shipper"], texts
    for name in ("app", "proxy", "log-shipper"):
        assert any(re.match(rf"{name}\[\d+\] exited with status 0 \d+\.\d+s after its stop signal$", t)
                   for t in texts), (name, texts)
    assert "received SIGTERM, shutting down (deadline in 15s)" in texts
    # The app's 1s preStop sleep comes between the SIGTERM and its stop signal.
    pre_stop = at(line_with(u, "preStop: waiting 1s before its stop signal"))
    stopping = at(line_with(u, " stopping with SIGTERM"))
    assert 0.95 <= stopping - pre_stop < 2.5, (pre_stop, stopping)
    assert stopping >= sent + 0.9
    assert texts[-1] == "exiting with status 0"
    out = u.stdout()
    for text in ("prepare: wrote", "app: hello from the init container; the proxy says ok",
                 "log-shipper: shipped: request handled", "app: drained, bye", "proxy: SIGTERM: closing",
                 "log-shipper: done"):
        assert text in out, out


@pytest.mark.parametrize("status", [0, 3])
def test_job_with_sidecar_ends_with_its_work_and_stops_the_shipper(usher, tmp_path, status):
    u = usher(["-f", os.path.join(JOB_DEMO, "job.yaml")],
              env={"SHARED_DIR": str(tmp_path), "WORK_STATUS": str(status)}, stdout_file=True)
    assert u.wait(timeout=30) == status, u.stderr()
    texts = u.log_texts()
    expected = [r"log-shipper\[\d+\] started", r"log-shipper\[\d+\] startup probe passed ",
                r"work\[\d+\] started", rf"work\[\d+\] exited with status {status} after running ",
                r"log-shipper\[\d+\] stopping with SIGTERM",
                r"log-shipper\[\d+\] exited with status 0 \d+\.\d+s after its stop signal",
                rf"exiting with status {status}$"]
    got = [t for t in texts if not t.startswith("log-shipper will be restarted")]
    assert len(got) == len(expected), texts
    for pattern, text in zip(expected, got):
        assert re.match(pattern, text), (pattern, texts)
    out = u.stdout()
    for item in (1, 2, 3):
        assert f"log-shipper: shipped: item {item} done" in out, out
    assert "log-shipper: SIGTERM: shipped all 3 lines, bye" in out, out
    assert out.index(f"work: finished, status {status}") < out.index("log-shipper: SIGTERM")


@pytest.mark.parametrize("path", [os.path.join(POD_DEMO, "deployment.yaml"), os.path.join(JOB_DEMO, "job.yaml")])
def test_usher_check_accepts_each_example(path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    r = subprocess.run([USHER, "check", "-f", path], capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("start order:\n"), r.stdout


# --- the same example as an image, in podman --------------------------------------------------------

from helpers.engine import podman, unique_name  # noqa: E402


def test_pod_with_sidecars_image_runs_the_manifest_in_podman(example_image):
    image = example_image("pod-with-sidecars")
    name = unique_name("pod-demo")
    try:
        podman("run", "-d", "--name", name, image)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not re.search(r"app\[\d+\] is ready", podman("logs", name).stderr):
            time.sleep(0.1)
        podman("stop", "-t", "20", name)
        assert int(podman("wait", name).stdout.strip()) == 0
        r = podman("logs", name)
        texts = [l.split(" usher: ", 1)[1] for l in r.stderr.splitlines() if " usher: " in l]
        assert names(texts, "] started") == ["prepare", "log-shipper", "proxy", "app"], texts
        assert names(texts, " stopping with SIGTERM") == ["app", "proxy", "log-shipper"], texts
        assert "app: hello from the init container; the proxy says ok" in r.stdout, r.stdout
        assert texts[-1] == "exiting with status 0", texts
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
