"""`usher -f POD`: what probes and exits do while the pod runs. A sidecar that exits is restarted
(at once the first time, then with the kubelet's back-off: 10s, 20s, ... 5m) while the mains keep
running; a sidecar whose livenessProbe fails is stopped with its stop signal and restarted; a
readinessProbe only changes the ready state, which is logged."""
import signal
import time

import pytest

from conftest import ms
from helpers.podfile import container, exec_probe, sidecar, write_pod


def test_a_sidecar_that_exits_is_restarted_at_once_then_with_back_off(usher, act, tmp_path):
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy", "--exit-after", 400, "--code", 3))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_for(lambda: len(u.find("proxy", "exit")) >= 2, timeout=10, what="proxy to exit twice")
    starts, exits = u.find("proxy", "start"), u.find("proxy", "exit")
    assert len(starts) == 2, starts
    assert starts[1][4] != starts[0][4], "a restart is a new process"
    gap = ms(starts[1][3] - exits[0][3])
    assert 0 <= gap < 500, f"the first restart should be immediate, it came after {gap:.0f} ms"
    u.wait_for(lambda: "proxy will be restarted in 10s (restart 2, back-off)" in u.log_texts(),
               timeout=5, what="the back-off line")
    texts = u.log_texts()
    assert "proxy will be restarted now (restart 1)" in texts, texts
    pid = starts[0][4]
    assert any(t.startswith(f"proxy[{pid}] exited with status 3 after running 0.") for t in texts), texts
    # The main container keeps running, untouched, and the back-off holds the third start.
    time.sleep(1.5)
    assert u.running()
    assert not u.find("web", "signal") and len(u.find("proxy", "start")) == 2
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert len(u.find("proxy", "start")) == 2, "no restart once the shutdown has begun"
    assert "proxy will be restarted" not in u.log_texts()[-1]


def test_a_sidecar_that_fails_its_liveness_probe_is_stopped_with_its_stop_signal_and_restarted(usher, act, tmp_path):
    alive = tmp_path / "alive"
    alive.touch()
    pod = write_pod(tmp_path,
                    init=[sidecar("proxy", act("proxy", "--stop-on", "USR1", "--linger", 100),
                                  lifecycle={"stopSignal": "SIGUSR1"},
                                  livenessProbe=exec_probe(["test", "-f", alive], period=1, failures=2))],
                    containers=[container("web", act("web"))],
                    os={"name": "linux"})  # stopSignal requires it
    u = usher(["-f", pod])
    u.wait_started("proxy", "web")
    time.sleep(1.2)
    assert not u.find("proxy", "signal"), "the liveness probe passes while the file exists"
    removed = time.monotonic_ns()
    alive.unlink()
    u.wait_for(lambda: u.find("proxy", "signal"), timeout=6, what="proxy's stop signal")
    sig = u.first("proxy", "signal")
    assert sig[2] == str(int(signal.SIGUSR1)), "a liveness restart uses the container's stopSignal"
    took = ms(sig[3] - removed)
    assert 900 <= took < 3500, f"two failures 1s apart, then the signal: {took:.0f} ms"
    alive.touch()
    u.wait_for(lambda: len(u.find("proxy", "start")) == 2, timeout=5, what="proxy's restart")
    first, second = u.find("proxy", "start")
    assert second[3] >= u.first("proxy", "exit")[3]
    texts = u.log_texts()
    pid = first[4]
    failed = [t for t in texts if t.startswith(f"proxy[{pid}] liveness probe failed 2 times in a row (last: ")]
    assert failed and "exited with status 1" in failed[0], texts
    assert f"proxy[{pid}] stopping with SIGUSR1" in texts
    assert "proxy will be restarted now (restart 1)" in texts, texts
    assert not u.find("web", "signal"), "the main keeps running"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_a_readiness_probe_logs_ready_and_not_ready_and_stops_nothing(usher, act, tmp_path):
    ready = tmp_path / "ready"
    pod = write_pod(tmp_path, containers=[container(
        "web", act("web"), readinessProbe=exec_probe(["test", "-f", ready], period=1, failures=1))])
    u = usher(["-f", pod])
    u.wait_started("web")
    pid = u.first("web", "start")[4]
    time.sleep(1.2)
    assert not [t for t in u.log_texts() if " is ready" in t], "ready before its probe passed"
    ready.touch()
    u.wait_for(lambda: f"web[{pid}] is ready" in u.log_texts(), timeout=5, what="ready")
    ready.unlink()
    u.wait_for(lambda: any(t.startswith(f"web[{pid}] is not ready: ") for t in u.log_texts()),
               timeout=5, what="not ready")
    assert u.running() and not u.find("web", "signal"), "readiness stops nothing"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_a_liveness_restart_uses_the_probe_s_termination_grace_period(usher, tmp_path):
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=30,
                    init=[sidecar("proxy", ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
                                  livenessProbe=exec_probe(["false"], period=1, failures=1, initialDelaySeconds=1,
                                                           terminationGracePeriodSeconds=1))],
                    containers=[container("web", ["sleep", "60"])])
    u = usher(["-f", pod])
    u.wait_for(lambda: any(t.startswith("proxy[") and " stopping with SIGTERM" in t for t in u.log_texts()),
               timeout=6, what="the liveness stop")
    # The probe's grace is 1s: the SIGKILL, and so the restart, should follow within a few seconds.
    u.wait_for(lambda: "proxy will be restarted now (restart 1)" in u.log_texts(), timeout=4,
               what="the restart after the probe's 1s grace period")


def test_a_single_probe_failure_is_not_worded_as_1_times(usher, act, tmp_path):
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy"), startupProbe=exec_probe(["false"], failures=1))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    # A sidecar whose startup probe fails is stopped and restarted (as the kubelet does): the
    # startup stays blocked, and the failure is logged each time.
    u.wait_for(lambda: "proxy will be restarted now (restart 1)" in u.log_texts(), timeout=6,
               what="the restart after the failed startup probe")
    texts = u.log_texts()
    # The pid from usher's log: the probe can fail and the sidecar be stopped before the actor
    # has written its own start record (seen under qemu, 2 ms after the start).
    pid = next(t.split("]")[0].split("[")[1] for t in texts if t.startswith("proxy[") and t.endswith("] started"))
    failed = [t for t in texts if t.startswith(f"proxy[{pid}] startup probe failed")]
    assert failed and not [t for t in texts if " 1 times" in t], texts
    assert f"proxy[{pid}] is stopped to be restarted: its startup probe failed" in texts, texts
    assert not u.find("web", "start")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
