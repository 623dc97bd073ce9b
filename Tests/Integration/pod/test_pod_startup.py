"""`usher -f POD`: the startup of a pod, with dist/usher as a real PID 1. Init containers run in
order, each to completion; sidecars (init containers with restartPolicy: Always) start in their
place and hold back the next entry until their startup probe passes (exec, tcpSocket, httpGet);
the main containers start together after all of them. A failing init container stops the
startup; a sidecar whose startup probe never passes is restarted with back-off, and the startup
stays blocked (the kubelet's way).

The probe targets here listen on 127.0.0.1 only, and these tests are not about addressing: their
probes set host 127.0.0.1 (with host unset a probe goes to the container's own address, as the
kubelet's goes to the pod IP; test_parity_probes covers that)."""
import os
import signal
import sys
import time

import pytest

from conftest import HELPERS, ms
from helpers.podfile import (LOOPBACK, container, exec_probe, free_port, http_probe, sidecar, tcp_probe,
                             write_pod)

TARGET = os.path.join(HELPERS, "delayed_server.py")


def target(name, events_log, port, *opts):
    """argv of a delayed_server sidecar that logs to the test's events file."""
    return [sys.executable, TARGET, name, "--log", events_log, "--port", str(port), *[str(o) for o in opts]]


# --- init containers ---------------------------------------------------------------------------

def test_init_containers_run_in_order_each_to_completion_then_the_mains_together(usher, act, tmp_path):
    pod = write_pod(tmp_path,
                    init=[container("first", act("first", "--exit-after", 300)),
                          container("second", act("second", "--exit-after", 300))],
                    containers=[container("web", act("web")), container("worker", act("worker"))])
    u = usher(["-f", pod])
    u.wait_started("web", "worker")
    first_exit, second_start = u.first("first", "exit"), u.first("second", "start")
    second_exit = u.first("second", "exit")
    assert first_exit[2] == "0" and second_exit[2] == "0"
    assert second_start[3] >= first_exit[3], "second started before first had finished"
    for main in ("web", "worker"):
        assert u.first(main, "start")[3] >= second_exit[3], f"{main} started before the init containers ended"
    assert u.logged_starts(4) == [
        "first[2] started", "second[3] started", "web[4] started", "worker[5] started"], u.log_texts()
    texts = u.log_texts()
    assert any(t.startswith("first[2] exited with status 0 after running 0.") and t.endswith(": init done")
               for t in texts), texts
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert u.first("web", "signal", "15") and u.first("worker", "signal", "15")


def test_a_failing_init_container_stops_the_startup_and_its_status_is_usher_s(usher, act, tmp_path):
    pod = write_pod(tmp_path,
                    init=[sidecar("proxy", act("proxy")),
                          container("migrate", act("migrate", "--exit-after", 200, "--code", 3)),
                          container("seed", act("seed"))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    assert u.wait() == 120, "usher's own status for a startup that failed (the log names the init's)"
    assert not u.find("seed", "start") and not u.find("web", "start"), u.events()
    # The sidecar already running is stopped, after the init container failed.
    assert u.first("proxy", "signal", "15")[3] >= u.first("migrate", "exit")[3]
    texts = u.log_texts()
    assert "startup stopped: init container migrate failed with status 3" in texts, texts
    assert texts[-1] == "exiting with status 120"


def test_sigterm_during_the_init_containers_stops_them_and_starts_nothing_more(usher, act, tmp_path):
    pod = write_pod(tmp_path,
                    init=[sidecar("proxy", act("proxy")), container("migrate", act("migrate"))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("proxy", "migrate")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert not u.find("web", "start")
    # Both are stopped at once: a running init container is no main container and no later
    # sidecar, so the sidecar does not wait for it (kuberuntime_termination_order.go: a sidecar
    # waits for the main containers and the later sidecars only).
    for name in ("migrate", "proxy"):
        got = u.first(name, "signal", "15")
        assert got and ms(got[3] - sent) < 1000, f"{name} was not stopped at once: {got}"
        assert u.first(name, "exit"), f"{name} did not exit"


# --- sidecars gated by their startup probe ----------------------------------------------------------

def test_a_sidecar_without_a_startup_probe_lets_the_next_entry_start_at_once(usher, act, tmp_path):
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy")), container("setup", act("setup", "--exit-after", 0))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("web")
    # Without a probe there is nothing to wait for: the next entry is spawned right after it
    # (pids count up in spawn order; the actors then race to their first line of output).
    started = u.logged_starts(3, timeout=2)
    assert started == ["proxy[2] started", "setup[3] started", "web[4] started"], started
    assert ms(u.first("web", "start")[3] - u.first("proxy", "start")[3]) < 1000
    assert not u.find("proxy", "exit"), "a sidecar keeps running"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_exec_startup_probe_holds_back_the_next_entry_until_it_passes(usher, act, tmp_path):
    marker = tmp_path / "proxy-up"
    pod = write_pod(tmp_path,
                    init=[sidecar("proxy", act("proxy"),
                                  startupProbe=exec_probe(["test", "-f", marker], period=1, failures=30))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("proxy")
    time.sleep(1.5)
    assert not u.find("web", "start"), "web started before the sidecar's startup probe passed"
    marked = time.monotonic_ns()
    marker.touch()
    u.wait_started("web", timeout=5)
    waited = ms(u.first("web", "start")[3] - marked)
    assert 0 <= waited < 2500, f"web started {waited:.0f} ms after the probe could pass (period 1s)"
    pid = u.first("proxy", "start")[4]
    assert any(t.startswith(f"proxy[{pid}] startup probe passed ") and t.endswith(" after its start")
               for t in u.log_texts()), u.log_texts()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_tcp_socket_startup_probe_gates_each_entry_in_turn(usher, act, events_log, tmp_path):
    port = free_port()
    pod = write_pod(tmp_path,
                    init=[sidecar("db", target("db", events_log, port, "--after", 1200),
                                  startupProbe=tcp_probe(port, period=1, host=LOOPBACK)),
                          sidecar("cache", act("cache")),
                          container("migrate", act("migrate", "--exit-after", 100))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("web", timeout=10)
    listening = u.first("db", "listening")
    cache, migrate, web = u.first("cache", "start"), u.first("migrate", "start"), u.first("web", "start")
    assert cache[3] >= listening[3], "cache started before db listened"
    assert ms(cache[3] - listening[3]) < 2500
    # cache has no startup probe, so migrate is started right after it: which of the two runs
    # first is the scheduler's choice, so the order is read from usher's own log.
    started = [t.split("[")[0] for t in u.log_texts() if t.endswith("] started")]
    assert started.index("cache") < started.index("migrate"), started
    assert web[3] >= u.first("migrate", "exit")[3]
    assert ms(cache[3] - u.first("db", "start")[3]) >= 1100, "the db's listening delay did not gate"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    # Sidecars stop in reverse start order.
    assert u.first("db", "signal", "15")[3] >= u.first("cache", "exit")[3]


@pytest.mark.parametrize("status", [200, 204, 302, 399])
def test_http_get_startup_probe_sends_path_and_headers_and_passes_on_2xx_3xx(usher, act, events_log, tmp_path, status):
    port = free_port()
    probe = http_probe(port, path="/healthz?deep=1", headers=[("X-Probe", "usher"), ("Authorization", "Bearer t0k")],
                       host=LOOPBACK)
    pod = write_pod(tmp_path,
                    init=[sidecar("api", target("api", events_log, port, "--after", 800, "--http", "--status", status,
                                                "--path", "/healthz?deep=1", "--header", "X-Probe:usher",
                                                "--header", "authorization:Bearer t0k"),
                                  startupProbe=probe)],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_started("web", timeout=10)
    answered = u.first("api", "answered")
    assert answered[2] == str(status), "the probe's path or headers did not arrive as written"
    request = u.first("api", "request")
    assert request[2] == "/healthz?deep=1"
    # The request is logged before it is answered (the answer may reach usher before the
    # "answered" line is written).
    assert u.first("web", "start")[3] >= request[3]
    assert ms(u.first("web", "start")[3] - u.first("api", "listening")[3]) < 2500
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- a startup probe that never passes ---------------------------------------------------------------

def failing_probes(tmp_path, events_log, port):
    return {
        "exec-false": (exec_probe(["false"], period=1, failures=2), "the command exited with status 1"),
        "exec-timeout": (exec_probe(["sleep", "30"], period=1, failures=2, timeoutSeconds=1), "timed out after 1s"),
        "tcp-refused": (tcp_probe(port, period=1, failures=2, host=LOOPBACK), None),
        "http-500": (http_probe(port, period=1, failures=2, host=LOOPBACK), "500"),
    }


@pytest.mark.parametrize("kind", ["exec-false", "exec-timeout", "tcp-refused", "http-500"])
def test_a_startup_probe_that_never_passes_restarts_the_sidecar_and_blocks_the_startup(usher, act, events_log, tmp_path, kind):
    """The sidecar's startup probe fails failureThreshold (2) times: the sidecar is stopped (its
    stop signal; it has no preStop) and restarted with the kubelet's back-off (at once the first
    time); the next entries never start. usher no longer exits 1 by itself: SIGTERM ends it."""
    port = free_port()
    probe, detail = failing_probes(tmp_path, events_log, port)[kind]
    if kind == "http-500":
        side = target("proxy", events_log, port, "--http", "--status", 500)
    else:
        side = act("proxy")
    pod = write_pod(tmp_path,
                    init=[sidecar("proxy", side, startupProbe=probe), container("setup", act("setup"))],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod])
    u.wait_for(lambda: len(u.find("proxy", "start")) >= 2, timeout=15, what="the sidecar to be restarted")
    first, second = u.find("proxy", "start")[:2]
    took = ms(second[3] - first[3])
    assert took >= 900, f"2 failures 1s apart take at least 1s, the sidecar was restarted after {took:.0f} ms"
    stopped = u.first("proxy", "signal", "15")
    assert stopped and stopped[4] == first[4] and first[3] <= stopped[3] <= second[3], \
        f"the first sidecar was not stopped with its stop signal before its restart: {u.events()}"
    time.sleep(0.5)
    assert u.running(), "usher gave up on a sidecar whose startup probe fails"
    assert not u.find("setup", "start") and not u.find("web", "start"), u.events()
    texts = u.log_texts()
    pid = first[4]
    failed = [t for t in texts if t.startswith(f"proxy[{pid}] startup probe failed 2 times in a row")]
    assert failed, texts
    if detail:
        assert detail in failed[0], failed
    assert f"proxy[{pid}] is stopped to be restarted: its startup probe failed" in texts, texts
    assert "proxy will be restarted now (restart 1)" in texts, texts
    assert texts.index(failed[0]) < texts.index(f"proxy[{pid}] is stopped to be restarted: its startup probe failed") \
        < texts.index("proxy will be restarted now (restart 1)")
    assert not any(t.startswith("startup stopped") for t in texts), texts
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=10) == 143, "a stop request during the startup: 128 + SIGTERM, as before any main ran"
    assert not u.find("setup", "start") and not u.find("web", "start"), u.events()
