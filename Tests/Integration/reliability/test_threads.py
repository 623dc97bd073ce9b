"""usher is single-threaded: one event loop, no Dispatch, no Swift concurrency, no library threads.
Checked from outside on a real PID 1 running a pod whose sidecar has an httpGet startup and
readiness probe and an exec liveness probe, with --prefix (output pipes in the loop too): the
thread count in /proc/PID/status and the entries of /proc/PID/task, sampled all along, during the
startup (while the startup probe fails and retries), while the probes run, and during the
shutdown (preStop sleep, then the stop of the main container and of the sidecar)."""
import os
import signal
import sys
import threading
import time

from conftest import HELPERS
from helpers.podfile import LOOPBACK, container, exec_probe, free_port, http_probe, pre_stop_sleep, sidecar, write_pod

TARGET = os.path.join(HELPERS, "delayed_server.py")


class Sampler(threading.Thread):
    """Reads usher's thread count and task list every few milliseconds until it is gone."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []  # (monotonic_ns, Threads: value, [task ids])
        self.stopped = threading.Event()

    def read(self):
        try:
            status = open(f"/proc/{self.pid}/status").read()
            tasks = sorted(int(t) for t in os.listdir(f"/proc/{self.pid}/task"))
        except (FileNotFoundError, ProcessLookupError):
            return None
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            return None  # exited, not yet reaped by unshare
        return int(fields["Threads"]), tasks

    def run(self):
        while not self.stopped.is_set():
            t = time.monotonic_ns()
            got = self.read()
            if got is None:
                return
            self.samples.append((t, *got))
            time.sleep(0.005)

    def between(self, start, end):
        return [s for s in self.samples if start <= s[0] < end]


def test_usher_runs_one_thread_through_startup_probes_and_shutdown(usher, act, events_log, tmp_path):
    port = free_port()
    live = tmp_path / "liveness-checks"
    # The sidecar listens only after 1.5 s: the startup probe fails and is retried meanwhile.
    api = sidecar("api", [sys.executable, TARGET, "api", "--log", events_log, "--port", port,
                          "--after", 1500, "--http"],
                  # delayed_server listens on 127.0.0.1 only: with no host a probe goes to the
                  # container's own address.
                  startupProbe=http_probe(port, path="/healthz", period=1, failures=30, host=LOOPBACK),
                  readinessProbe=http_probe(port, path="/ready", period=1, failures=3, host=LOOPBACK),
                  livenessProbe=exec_probe(["sh", "-c", f"echo check >> {live}"], period=1, failures=3))
    web = container("web", act("web", "--linger", 500), lifecycle=pre_stop_sleep(1))
    pod = write_pod(tmp_path, init=[api], containers=[web], terminationGracePeriodSeconds=10)

    u = usher(["--prefix", "-f", pod])
    sampler = Sampler(u.pid)
    sampler.start()
    try:
        u.wait_started("web", timeout=15)
        # Let the probes run for a few periods: readiness (httpGet) and liveness (exec).
        u.wait_for(lambda: live.exists() and len(live.read_text().splitlines()) >= 3, timeout=10,
                   what="three liveness checks")
        u.wait_for(lambda: len(u.find("api", "request")) >= 4, timeout=10, what="readiness checks")
        stop_at = u.signal(signal.SIGTERM)
        assert u.wait() == 143
    finally:
        sampler.stopped.set()
        sampler.join(timeout=5)

    bad = [s for s in sampler.samples if s[1] != 1 or s[2] != [u.pid]]
    assert not bad, f"usher had more than one thread (time, Threads:, tasks): {bad[:5]}\n{u.stderr()}"

    # Samples in every phase, so that "one thread" is shown for each, not assumed.
    web_start = u.first("web", "start")[3]
    listening = u.first("api", "listening")[3]
    web_signal = u.first("web", "signal", "15")[3]
    phases = {
        "startup, while the startup probe fails": sampler.between(0, listening),
        "startup, after the sidecar listens": sampler.between(listening, web_start),
        "running, with probes": sampler.between(web_start, stop_at),
        "shutdown, the preStop wait": sampler.between(stop_at, web_signal),
        "shutdown, the main container stopping": sampler.between(web_signal, u.first("web", "exit")[3]),
    }
    for phase, samples in phases.items():
        assert len(samples) >= 3, f"too few samples {phase}: {len(samples)} of {len(sampler.samples)}"
