"""Kubelet parity: probes.

- preStop on every kill: a container stopped for a restart after a failed liveness probe,
  or a failed startup probe, runs its preStop first (killContainer), within the probe's
  terminationGracePeriodSeconds or the pod's.
- Readiness during shutdown: readiness probes keep running while a container's preStop
  runs and until it exits; liveness (and startup) probes stop at the shutdown.
- A sidecar whose startup probe never passes is killed (preStop first) and restarted with
  back-off each time; the startup stays blocked; the log says so each time; `usher check` warns.
- httpGet probes send User-Agent: kube-probe/1.35 and Accept: */* (httpHeaders win);
  with `host` unset, probes and httpGet hooks connect to the container's own address (the first
  non-loopback IPv4 address of an interface that is up, else 127.0.0.1), tested in a network
  namespace of usher's own (helpers/netns.py).

Each test names the case of kubernetes/kubernetes test/e2e_node/container_lifecycle_test.go it
mirrors (or the kubelet source, where the e2e has none)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import USHER
from helpers import netns
from helpers.lifecycle_log import LifecycleLog
from helpers.podfile import (container, exec_handler, exec_probe, free_port, http_handler, http_probe, lifecycle,
                             sidecar, tcp_probe, write_pod)
from helpers.recorders import header, recorder, requests

KUBE_PROBE = "kube-probe/1.35"


def check(pod):
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    return subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True, env=env, timeout=20)


def touch_then(marker, argv):
    """A command that creates `marker`, then execs argv (a preStop hook that revives a probe)."""
    return ["sh", "-c", f"touch {marker}; exec {' '.join(str(a) for a in argv)}"]


def first_run_fails(act, marker, name):
    """A command that the first time is actor `name` exiting 1 after 200 ms, then actor `name`
    running until stopped."""
    fail = " ".join(act(name, "--exit-after", 200, "--code", 1))
    ok = " ".join(act(name, "--code", 0))
    return ["sh", "-c", f"if [ -e {marker} ]; then exec {ok}; else touch {marker}; exec {fail}; fi"]


# --- preStop on every kill -----------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["Never", "OnFailure"])
def test_should_call_the_container_s_prestop_hook_and_terminate_it_if_its_liveness_probe_fails(usher, act, tmp_path, policy):
    """e2e: When("A regular container fails a liveness probe")
    It("should call the container's preStop hook and terminate it if its liveness probe fails").
    regular-1's liveness probe fails once its initial delay is over; its preStop hook (1s) runs
    while it runs, then it gets its stop signal and exits. restartPolicy Never: not restarted,
    usher exits 143. OnFailure: restarted (the hook made the probe pass again)."""
    alive = tmp_path / "alive"
    pod = write_pod(tmp_path, restartPolicy=policy,
                    containers=[container("regular-1", act("regular-1"),
                                          livenessProbe=exec_probe(["test", "-f", alive], period=1, failures=1, initialDelaySeconds=1),
                                          lifecycle=lifecycle(pre_stop=exec_handler(
                                              touch_then(alive, act("PreStop-regular-1", "--exit-after", 1000)))))])
    u = usher(["-f", pod])
    if policy == "Never":
        assert u.wait(timeout=20) == 143, u.stderr()
    else:
        u.wait_for(lambda: len(u.find("regular-1", "start")) >= 2, timeout=15, what="regular-1's restart")
    log = LifecycleLog(u.events())
    log.run_together("regular-1", "PreStop-regular-1")
    log.starts("PreStop-regular-1")
    log.exits("regular-1")
    assert log.signalled("regular-1") >= log.time_of("PreStop-regular-1", "exit"), f"the stop signal came before the preStop ended:\n{log}"
    if policy == "Never":
        log.has_not_restarted("regular-1")
    else:
        log.has_restarted("regular-1")
        u.signal(signal.SIGTERM)
        u.wait(timeout=20)


def test_should_call_the_container_s_prestop_hook_and_start_the_next_container_if_the_restartable_init_container_s_liveness_probe_fails(usher, act, tmp_path):
    """e2e: When("running restartable init containers with liveness probes")
    It("should call the container's preStop hook and start the next container if the restartable
    init container's liveness probe fails"). The sidecar's preStop (1s) runs before its stop
    signal; it is restarted; the main starts and is left alone."""
    alive = tmp_path / "alive"
    pod = write_pod(tmp_path,
                    init=[sidecar("restartable-init-1", act("restartable-init-1"),
                                  livenessProbe=exec_probe(["test", "-f", alive], period=1, failures=1, initialDelaySeconds=1),
                                  lifecycle=lifecycle(pre_stop=exec_handler(
                                      touch_then(alive, act("PreStop-restartable-init-1", "--exit-after", 1000)))))],
                    containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_for(lambda: len(u.find("restartable-init-1", "start")) >= 2, timeout=15, what="the sidecar's restart")
    u.wait_started("regular-1")
    log = LifecycleLog(u.events())
    log.run_together("restartable-init-1", "PreStop-restartable-init-1")
    log.starts("PreStop-restartable-init-1")
    log.exits("restartable-init-1")
    assert log.signalled("restartable-init-1") >= log.time_of("PreStop-restartable-init-1", "exit"), \
        f"the stop signal came before the preStop ended:\n{log}"
    log.starts("regular-1")
    log.not_signalled("regular-1")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


def test_a_liveness_kill_runs_the_pre_stop_within_the_probe_s_termination_grace_period(usher, act, tmp_path):
    """kuberuntime_container.go setTerminationGracePeriod: a kill for a failed liveness probe uses
    the probe's terminationGracePeriodSeconds (4s here, the pod's is 60s). The sidecar's preStop
    never ends and the sidecar ignores SIGTERM: the hook starts at the failure, the stop signal
    comes before the kill and at least the stop window (2s) before it, and the restart follows
    the kill, ~4s after the failure, not 60s."""
    alive = tmp_path / "alive"
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=60,
                    init=[sidecar("restartable-init-1", act("restartable-init-1", "--catch", "TERM"),
                                  livenessProbe=exec_probe(["test", "-f", alive], period=1, failures=1, initialDelaySeconds=1,
                                                           terminationGracePeriodSeconds=4),
                                  lifecycle=lifecycle(pre_stop=exec_handler(
                                      touch_then(alive, act("PreStop-restartable-init-1", "--loop", 200)))))],
                    containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_for(lambda: len(u.find("restartable-init-1", "start")) >= 2, timeout=15, what="the sidecar's restart")
    log = LifecycleLog(u.events())
    hook = log.time_of_start("PreStop-restartable-init-1")
    sig = log.signalled("restartable-init-1")
    restart = log.time_of("restartable-init-1", "start", 1)
    assert hook <= sig, f"the preStop hook should start before the stop signal:\n{log}"
    log.within("the restart (SIGKILL at the probe's 4s grace period)", restart, hook, 3500, 5500)
    log.within("from the stop signal to the kill and restart", restart, sig, 1800, 5500)
    log.not_signalled("regular-1")
    # No shutdown here: the sidecar ignores SIGTERM and the pod's grace period is 60s; the
    # fixture kills what is left.


def test_should_call_the_container_s_prestop_hook_and_terminate_it_if_its_startup_probe_fails(usher, act, tmp_path):
    """e2e: When("A regular container fails a startup probe")
    It("should call the container's preStop hook and terminate it if its startup probe fails").
    restartPolicy Never; regular-1's startup probe fails once its initial delay is over: its
    preStop (1s) runs while it runs, then its stop signal; it is not restarted; usher exits 143."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("regular-1", act("regular-1"),
                                          startupProbe=exec_probe(["sh", "-c", "exit 1"], period=1, failures=1, initialDelaySeconds=1),
                                          lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-regular-1", "--exit-after", 1000))))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 143, u.stderr()
    log = LifecycleLog(u.events())
    log.run_together("regular-1", "PreStop-regular-1")
    log.starts("PreStop-regular-1")
    log.exits("regular-1")
    assert log.signalled("regular-1") >= log.time_of("PreStop-regular-1", "exit"), f"the stop signal came before the preStop ended:\n{log}"
    log.has_not_restarted("regular-1")


# --- a sidecar whose startup probe never passes ------------------------------------------------------

def test_should_call_the_container_s_prestop_hook_and_not_launch_next_container_if_the_restartable_init_container_s_startup_probe_fails(usher, act, tmp_path):
    """e2e: When("using a PreStop hook")
    It("should call the container's preStop hook and not launch next container if the restartable
    init container's startup probe fails"). Each time the startup probe has failed
    failureThreshold (1) times, the sidecar's preStop runs, then its stop signal, and it is
    restarted (at once the first time, then with back-off); the main never starts; usher keeps
    running (the startup stays blocked, as the pod stays Pending); the log says so each time."""
    pod = write_pod(tmp_path,
                    init=[sidecar("restartable-init-1", act("restartable-init-1"),
                                  startupProbe=exec_probe(["sh", "-c", "exit 1"], period=1, failures=1, initialDelaySeconds=1),
                                  lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-restartable-init-1", "--exit-after", 300))))],
                    containers=[container("regular-1", act("regular-1"))])
    u = usher(["-f", pod])
    u.wait_for(lambda: len(u.find("PreStop-restartable-init-1", "exit")) >= 2 and len(u.find("restartable-init-1", "exit")) >= 2,
               timeout=15, what="two failed startups of the sidecar")
    time.sleep(0.5)
    assert u.running(), "usher gave up: the startup should stay blocked, retried with back-off"
    log = LifecycleLog(u.events())
    log.run_together("restartable-init-1", "PreStop-restartable-init-1")
    log.starts("PreStop-restartable-init-1")
    log.exits("restartable-init-1")
    log.has_restarted("restartable-init-1")
    for nth in (0, 1):
        assert log.time_of("restartable-init-1", "signal", nth) >= log.time_of("PreStop-restartable-init-1", "exit", nth), \
            f"stop signal {nth + 1} came before its preStop ended:\n{log}"
    log.doesnt_start("regular-1")
    said = [t for t in u.log_texts() if "restartable-init-1" in t and "startup probe" in t and "fail" in t]
    assert len(said) >= 2, "the log should say each time that the startup probe failed:\n" + u.stderr()
    u.signal(signal.SIGTERM)
    u.wait(timeout=20)
    LifecycleLog(u.events()).doesnt_start("regular-1")


def test_check_warns_that_a_sidecar_s_startup_probe_can_keep_the_startup_blocked(tmp_path):
    """`usher check -f` warns that a pod whose sidecar has a startup probe can stay blocked in
    startup (its sidecar restarted with back-off for ever), and still exits 0."""
    pod = write_pod(tmp_path, init=[sidecar("proxy", ["sleep", "60"], startupProbe=tcp_probe(8080, failures=3))],
                    containers=[container("web", ["sleep", "60"])])
    r = check(pod)
    assert r.returncode == 0, r.stderr
    assert "blocked" in (r.stdout + r.stderr).lower(), r.stdout + r.stderr


def test_should_continue_probing_and_allow_regular_container_to_start_after_the_restartable_init_container_recovers(usher, act, tmp_path):
    """e2e: When("A restartable init container with startup probe fails initially")
    It("should continue probing and allow regular container to start after the restartable init
    container recovers"). restartPolicy Never; the sidecar exits 1 on its first run, before its
    startup probe could pass; it is restarted, its startup probe passes, and the main starts."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    init=[sidecar("buggy-restartable-init", first_run_fails(act, tmp_path / "first-run-done", "buggy-restartable-init"),
                                  startupProbe=exec_probe(["true"], period=1, failures=10, initialDelaySeconds=1))],
                    containers=[container("regular-container", act("regular-container", "--code", 0),
                                          startupProbe=exec_probe(["true"], period=1, failures=3, initialDelaySeconds=1))])
    u = usher(["-f", pod])
    u.wait_started("regular-container", timeout=15)
    log = LifecycleLog(u.events())
    log.has_restarted("buggy-restartable-init")
    assert log.time_of_start("regular-container") >= log.time_of("buggy-restartable-init", "start", 1)
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


# --- readiness during the shutdown ---------------------------------------------------------------------

def test_should_execute_readiness_probe_while_in_prestop_but_not_liveness(usher, act, tmp_path):
    """e2e: When("a pod is terminating because its liveness probe fails")
    It("should execute readiness probe while in preStop, but not liveness").
    restartPolicy Never; regular-1's liveness probe (an actor exiting 1) fails after its 2s
    initial delay, which kills regular-1: its preStop runs 3s, during which its readiness probe
    (an actor exiting 0, every second) keeps being run, and its liveness probe is not."""
    probe = dict(period=1)
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=30,
                    containers=[container("regular-1", act("regular-1"),
                                          livenessProbe=exec_probe(act("Liveness-regular-1", "--exit-after", 0, "--code", 1),
                                                                   failures=1, initialDelaySeconds=2, **probe),
                                          readinessProbe=exec_probe(act("Readiness-regular-1", "--exit-after", 0),
                                                                    failures=3, initialDelaySeconds=1, **probe),
                                          lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-regular-1", "--exit-after", 3000))))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 143, u.stderr()
    log = LifecycleLog(u.events())
    # readiness probes are called during pod termination
    log.run_together_lhs_first("PreStop-regular-1", "Readiness-regular-1")
    pre_stop, pre_stop_exit = log.time_of_start("PreStop-regular-1"), log.time_of("PreStop-regular-1", "exit")
    during = [e for e in log.all("Readiness-regular-1", "start") if pre_stop < e[3] < pre_stop_exit]
    assert len(during) >= 2, f"the readiness probe (every 1s) should run during the 3s preStop:\n{log}"
    # liveness probes are not called during pod termination
    assert not log.holds(log.run_together_lhs_first, "PreStop-regular-1", "Liveness-regular-1"), \
        f"the liveness probe ran during the preStop:\n{log}"


def test_an_http_get_readiness_probe_keeps_being_sent_during_a_long_pre_stop_and_liveness_stops(usher, act, events_log, tmp_path):
    """Readiness during the shutdown, seen from the probe target: after a SIGTERM, while regular-1's
    3.5s preStop runs, its httpGet readiness probe (every second) keeps reaching the server; its
    httpGet liveness probe reaches it no more."""
    port = free_port()
    log_file = tmp_path / "requests.jsonl"
    pod = write_pod(tmp_path,
                    init=[sidecar("probe-server", recorder("probe-server", events_log, port, "--bind", "0.0.0.0", "--requests", log_file),
                                  startupProbe=tcp_probe(port, period=1, failures=30))],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          readinessProbe=http_probe(port, path="/ready", period=1, failures=3),
                                          livenessProbe=http_probe(port, path="/live", period=1, failures=30),
                                          lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-regular-1", "--exit-after", 3500))))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    u.wait_for(lambda: {"/ready", "/live"} <= {r["path"] for r in requests(log_file)}, timeout=10, what="both probes")
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    main_exit = log.time_of("regular-1", "exit")
    settled = sent + 300 * 1000000  # a probe already on its way at the SIGTERM may still arrive
    ready = [r for r in requests(log_file) if r["path"] == "/ready" and settled < r["ns"] < main_exit]
    live = [r for r in requests(log_file) if r["path"] == "/live" and r["ns"] > settled]
    assert len(ready) >= 2, f"readiness requests during the preStop: {len(ready)}\n{requests(log_file)}\n{log}"
    assert not live, f"liveness requests after the stop request: {live}"


# --- what probes look like, and where they go -----------------------------------------------------------

def test_http_get_probes_send_the_kubelet_s_user_agent_and_accept_and_http_headers_win(usher, act, events_log, tmp_path):
    """pkg/probe/http/request.go NewRequestForHTTPGetAction(..., "probe"): User-Agent
    kube-probe/<major>.<minor> (1.35) and Accept: */*; a header set in httpHeaders replaces the
    default."""
    port = free_port()
    log_file = tmp_path / "requests.jsonl"
    pod = write_pod(tmp_path,
                    init=[sidecar("probe-server", recorder("probe-server", events_log, port, "--bind", "0.0.0.0", "--requests", log_file),
                                  startupProbe=http_probe(port, path="/startup", period=1, failures=30))],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          readinessProbe=http_probe(port, path="/custom", period=1, failures=30,
                                                                    headers=[("User-Agent", "custom-probe/3"), ("Accept", "application/json")]))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    u.wait_for(lambda: {"/startup", "/custom"} <= {r["path"] for r in requests(log_file)}, timeout=10, what="both probes")
    got = {r["path"]: r for r in requests(log_file)}
    assert header(got["/startup"], "User-Agent") == KUBE_PROBE, got["/startup"]
    assert header(got["/startup"], "Accept") == "*/*", got["/startup"]
    assert header(got["/custom"], "User-Agent") == "custom-probe/3", got["/custom"]
    assert header(got["/custom"], "Accept") == "application/json", got["/custom"]
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


def address_pod(tmp_path, events_log, kind, bind, port):
    """A sidecar server listening on `bind`, gated by its own startup probe of `kind` with host
    unset, then the main."""
    opts = ["--bind", bind, "--requests", tmp_path / "requests.jsonl"] + (["--tcp"] if kind == "tcpSocket" else [])
    probe = tcp_probe(port, period=1, failures=30) if kind == "tcpSocket" else http_probe(port, path="/startup", period=1, failures=30)
    return write_pod(tmp_path, init=[sidecar("server", recorder("server", events_log, port, *opts), startupProbe=probe)],
                     containers=[container("regular-1", ["sleep", "60"])])


@pytest.mark.parametrize("kind", ["httpGet", "tcpSocket"])
def test_with_host_unset_a_probe_goes_to_the_pod_ip_and_a_server_on_127_0_0_1_fails_it(usher, events_log, tmp_path, kind):
    """pkg/kubelet/prober/prober.go runProbe: with host unset, httpGet and tcpSocket probes go to
    the pod IP (status.PodIP), so a server that listens only on 127.0.0.1 fails its probe. Here
    usher runs in a network namespace whose only non-loopback address is 10.250.0.7: the probe
    never reaches the server, the main does not start."""
    port = free_port()
    u = usher(["-f", address_pod(tmp_path, events_log, kind, "127.0.0.1", port)], wrap=netns.wrap())
    u.wait_started("server")
    u.wait_for(lambda: u.find("server", "listening"), timeout=5, what="the server to listen")
    time.sleep(3)
    log = LifecycleLog(u.events())
    assert not log.all("server", "connect"), f"the probe reached a server on 127.0.0.1 only:\n{log}"
    assert not any(t.startswith("regular-1[") for t in u.log_texts()), "the main started: the startup probe passed"
    u.signal(signal.SIGTERM)
    u.wait(timeout=20)


@pytest.mark.parametrize("kind", ["httpGet", "tcpSocket"])
def test_with_host_unset_a_probe_arrives_on_the_pod_ip(usher, events_log, tmp_path, kind):
    """pkg/kubelet/prober/prober.go runProbe: the pod IP. A server listening on every address
    passes its probe, and sees the connection arrive on 10.250.0.7, the first non-loopback IPv4
    address of an interface that is up (the down interface's 10.251.0.9 is skipped)."""
    port = free_port()
    u = usher(["-f", address_pod(tmp_path, events_log, kind, "0.0.0.0", port)], wrap=netns.wrap(down_address=True))
    u.wait_for(lambda: any(t.startswith("regular-1[") and t.endswith(" started") for t in u.log_texts()),
               timeout=10, what="the main's start, once the probe passed")
    # A tcpSocket probe passes when the kernel completes the connection, which can be before the
    # server has accepted it and logged it: wait for the server's own record.
    u.wait_for(lambda: LifecycleLog(u.events()).all("server", "connect"), timeout=5, what="the server's connect record")
    connects = {e[2] for e in LifecycleLog(u.events()).all("server", "connect")}
    assert connects == {netns.POD_IP}, connects
    if kind == "httpGet":
        assert {r["local"] for r in requests(tmp_path / "requests.jsonl")} == {netns.POD_IP}
    u.signal(signal.SIGTERM)
    u.wait(timeout=20)


def test_with_host_unset_and_no_pod_ip_a_probe_goes_to_127_0_0_1(usher, events_log, tmp_path):
    """The fallback address: in a network namespace with only lo up, the probe goes to 127.0.0.1,
    where a server listening on 127.0.0.1 answers it."""
    port = free_port()
    u = usher(["-f", address_pod(tmp_path, events_log, "httpGet", "127.0.0.1", port)], wrap=netns.wrap(pod_ip=False))
    u.wait_for(lambda: any(t.startswith("regular-1[") and t.endswith(" started") for t in u.log_texts()),
               timeout=10, what="the main's start, once the probe passed")
    assert {r["local"] for r in requests(tmp_path / "requests.jsonl")} == {"127.0.0.1"}
    u.signal(signal.SIGTERM)
    u.wait(timeout=20)


def test_with_host_unset_an_http_get_hook_goes_to_the_pod_ip(usher, act, events_log, tmp_path):
    """lifecycle/handlers.go runHTTPHandler: with host unset a hook goes to the pod IP
    (status.IPs[0]), like a probe: the postStart request arrives on 10.250.0.7."""
    port = free_port()
    log_file = tmp_path / "requests.jsonl"
    pod = write_pod(tmp_path,
                    init=[sidecar("hooks-server", recorder("hooks-server", events_log, port, "--bind", "0.0.0.0", "--requests", log_file),
                                  startupProbe=tcp_probe(port, period=1, failures=30))],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          lifecycle=lifecycle(post_start=http_handler(port, path="/post-start")))])
    u = usher(["-f", pod], wrap=netns.wrap())
    u.wait_started("regular-1", timeout=15)
    u.wait_for(lambda: any(r["path"] == "/post-start" for r in requests(log_file)), timeout=5, what="the hook's request")
    assert [r["local"] for r in requests(log_file) if r["path"] == "/post-start"] == [netns.POD_IP]
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


@pytest.mark.parametrize("pod_ip", [True, False], ids=["pod-ip", "only-lo"])
def test_check_prints_the_address_probes_will_use(tmp_path, pod_ip):
    """`usher check -f` prints the address a probe with host unset will use: 10.250.0.7 (not the
    down interface's 10.251.0.9), or 127.0.0.1 with only lo."""
    pod = write_pod(tmp_path, init=[sidecar("proxy", ["sleep", "60"], startupProbe=http_probe(18080, path="/ready", failures=3))],
                    containers=[container("web", ["sleep", "60"], readinessProbe=tcp_probe(18081, failures=3))])
    r = netns.run([USHER, "check", "-f", pod], pod_ip=pod_ip, down_address=True)
    assert r.returncode == 0, r.stderr
    address = netns.POD_IP if pod_ip else "127.0.0.1"
    assert f"{address}:18080" in r.stdout and f"{address}:18081" in r.stdout, r.stdout
    assert netns.DOWN_IP not in r.stdout, r.stdout
