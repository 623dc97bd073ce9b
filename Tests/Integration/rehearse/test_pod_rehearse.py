"""usher rehearse -f: the same pod lifecycle, rehearsed; the stop signal waits for readiness."""
import json
import os
import subprocess

from conftest import USHER
from helpers.podfile import container, exec_probe, sidecar, write_pod


def rehearse(args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    return subprocess.run([USHER, "rehearse", "--format", "json", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_the_stop_signal_comes_after_every_main_container_is_ready(tmp_path):
    marker = tmp_path / "ready"
    # web becomes ready when its readiness probe finds the marker, which it writes after 0.6 s;
    # the probe runs every second, so web is ready at about 1 s, never before 0.6 s.
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=5,
                    init=[container("setup", ["true"]), sidecar("proxy", ["sleep", "30"])],
                    containers=[container("web", ["sh", "-c", f"sleep 0.6; touch {marker}; exec sleep 30"],
                                          readinessProbe=exec_probe(["test", "-f", str(marker)], period=1))])
    r = rehearse(["--after", "300ms", "-f", pod])
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    run = report["runs"][0]
    by_name = {p["name"]: p for p in run["processes"]}
    assert by_name["setup"]["role"] == "init" and by_name["setup"]["verdict"] == "clean"
    web = by_name["web"]
    assert web["ready_ms"] >= 600, web
    assert run["stop_ms"] >= web["ready_ms"] + 290, (run["stop_ms"], web["ready_ms"])
    assert run["stop_ms"] < web["ready_ms"] + 1500, "the stop waits --after past readiness, not more"
    assert by_name["proxy"]["signal_ms"] >= web["exited_ms"], "the sidecar is stopped after the main container"


def test_a_text_report_has_the_ready_column(tmp_path):
    pod = write_pod(tmp_path, containers=[container("web", ["sleep", "30"])])
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    r = subprocess.run([USHER, "rehearse", "--after", "100ms", "-f", pod], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    header = r.stdout.splitlines()[0].split()
    assert header[:4] == ["process", "pid", "started", "ready"], header
