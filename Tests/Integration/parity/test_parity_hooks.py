"""Kubelet parity: lifecycle hooks of every kind, and the headers their httpGet requests send.

- postStart with exec, httpGet and sleep. The next container does not start until the previous
  container's postStart has completed, for sidecars and main containers alike (the kubelet's
  startContainer runs the hook before it returns, and SyncPod starts containers one by one).
- A failing postStart (exec exits non-zero; httpGet gets no response, e.g. connection refused;
  an HTTP status does not fail it) kills the container, its preStop first (killContainer), and
  the container is then restarted by its policy (a sidecar always).
- httpGet preStop hooks: waited for, status code ignored, the stop signal follows.
- httpGet hooks send User-Agent: kube-lifecycle/1.35 and Accept: */*; httpHeaders win. Only
  scheme HTTP.

Each test mirrors a case of kubernetes/kubernetes test/e2e_node/container_lifecycle_test.go (or
pkg/kubelet/kuberuntime/kuberuntime_container.go where the e2e has none), named in its
docstring, with the e2e's container names and helpers (helpers/lifecycle_log.py)."""
import os
import re
import signal

import pytest

from helpers.lifecycle_log import LifecycleLog
from helpers.podfile import (container, exec_handler, free_port, http_handler, lifecycle, sidecar, sleep_handler,
                             tcp_probe, write_pod)
from helpers.recorders import header, recorder, requests

KUBE_LIFECYCLE = "kube-lifecycle/1.35"


def fail_once(act, marker, name, *opts):
    """A command that, the first time, runs actor `name` exiting 1 after 200 ms, and after that
    actor `name` exiting 0 after 200 ms (a hook that fails once)."""
    fail = " ".join(act(name, "--exit-after", 200, "--code", 1, *opts))
    ok = " ".join(act(name, "--exit-after", 200, *opts))
    return ["sh", "-c", f"if [ -e {marker} ]; then exec {ok}; else touch {marker}; exec {fail}; fi"]


def hooks_server(events_log, port, tmp_path, *opts):
    """A sidecar that records the hooks' requests; the next entry starts once it listens."""
    return sidecar("hooks-server", recorder("hooks-server", events_log, port, "--bind", "0.0.0.0",
                                            "--requests", tmp_path / "requests.jsonl", *opts),
                   startupProbe=tcp_probe(port, period=1, failures=30))


# --- postStart: the next container waits for it -------------------------------------------------

def test_should_run_init_container_to_completion_before_call_to_poststart_of_regular_container(usher, act, tmp_path):
    """e2e: When("The regular container has a PostStart hook")
    It("should run Init container to completion before call to PostStart of regular container").
    restartPolicy Never; init-1 runs 1s; regular-1's exec postStart hook runs 1s while regular-1
    runs; the pod completes, usher exits 0."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    init=[container("init-1", act("init-1", "--exit-after", 1000))],
                    containers=[container("regular-1", act("regular-1", "--exit-after", 2500),
                                          lifecycle=lifecycle(post_start=exec_handler(
                                              act("PostStart-regular-1", "--exit-after", 1000))))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.starts_before("init-1", "PostStart-regular-1")
    log.exits_before("init-1", "PostStart-regular-1")
    log.run_together("regular-1", "PostStart-regular-1")
    log.run_together_lhs_first("regular-1", "PostStart-regular-1")


def test_should_not_launch_second_container_before_poststart_of_the_first_container_completed(usher, act, tmp_path):
    """e2e: When("Running a pod with multiple containers and a PostStart hook")
    It("should not launch second container before PostStart of the first container completed").
    regular-1's exec postStart hook takes 1s: regular-2 starts only after it has exited (main
    containers start one after another when they have postStart hooks)."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("regular-1", act("regular-1", "--exit-after", 3000),
                                          lifecycle=lifecycle(post_start=exec_handler(
                                              act("PostStart-regular-1", "--exit-after", 1000)))),
                                container("regular-2", act("regular-2", "--exit-after", 300))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.starts_before("PostStart-regular-1", "regular-2")
    log.exits_before("PostStart-regular-1", "regular-2")
    assert log.time_of_start("regular-2") >= log.time_of("PostStart-regular-1", "exit"), \
        f"regular-2 started before regular-1's postStart completed:\n{log}"


@pytest.mark.parametrize("kind", ["exec", "sleep", "httpGet"])
def test_a_sidecar_s_post_start_of_each_kind_holds_back_the_next_container(usher, act, events_log, tmp_path, kind):
    """e2e: It("should not launch second container before PostStart of the first container
    completed"), for a sidecar and each handler kind: restartable-init-1's postStart takes ~1s
    (an exec hook running 1s, sleep 1, an httpGet answered after 1s); regular-1 starts only after
    it has completed. (The kubelet starts init containers, restartable or not, through the same
    startContainer, which runs the postStart hook before returning.)"""
    port = free_port()
    init = []
    if kind == "exec":
        hook = exec_handler(act("PostStart-restartable-init-1", "--exit-after", 1000))
    elif kind == "sleep":
        hook = sleep_handler(1)
    else:
        init.append(hooks_server(events_log, port, tmp_path, "--delay-ms", 1000))
        hook = http_handler(port, path="/post-start")
    init.append(sidecar("restartable-init-1", act("restartable-init-1", "--code", 0), lifecycle=lifecycle(post_start=hook)))
    pod = write_pod(tmp_path, init=init, containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    log = LifecycleLog(u.events())
    log.starts_before("restartable-init-1", "regular-1")
    main = log.time_of_start("regular-1")
    if kind == "exec":
        assert main >= log.time_of("PostStart-restartable-init-1", "exit"), f"regular-1 started during the postStart hook:\n{log}"
    elif kind == "sleep":
        log.within("regular-1's start after restartable-init-1's (sleep 1)", main, log.time_of_start("restartable-init-1"), 950, 3000)
    else:
        log.within("regular-1's start after the hook's request (answered after 1s)", main,
                   log.time_of("hooks-server", "request"), 950, 3000)
    log.not_signalled("restartable-init-1")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


# --- a failing postStart kills the container, preStop first ---------------------------------------

def test_a_failing_exec_post_start_kills_the_sidecar_pre_stop_first_and_the_sidecar_is_restarted(usher, act, tmp_path):
    """kuberuntime_container.go startContainer: a postStart handler that fails ends in
    killContainer(..., reasonFailedPostStartHook), which runs the preStop hook first; the sidecar
    is then restarted (a sidecar always is), and the main starts only once a postStart succeeded.
    Here the postStart hook exits 1 the first time and 0 after that."""
    hook = fail_once(act, tmp_path / "failed-once", "PostStart-restartable-init-1")
    pod = write_pod(tmp_path,
                    init=[sidecar("restartable-init-1", act("restartable-init-1", "--code", 0),
                                  lifecycle=lifecycle(post_start=exec_handler(hook),
                                                      pre_stop=exec_handler(act("PreStop-restartable-init-1", "--exit-after", 300))))],
                    containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    log = LifecycleLog(u.events())
    failed = log.index("PostStart-restartable-init-1", "exit", detail="1")
    pre_stop = log.index("PreStop-restartable-init-1", "start", failed)
    stopped = log.index("restartable-init-1", "signal", pre_stop)
    assert log.at(stopped)[3] >= log.time_of("PreStop-restartable-init-1", "exit"), f"the stop signal came before the preStop ended:\n{log}"
    log.has_restarted("restartable-init-1")
    second = log.index("restartable-init-1", "start", stopped)
    ok = log.index("PostStart-restartable-init-1", "exit", second, detail="0")
    assert log.time_of_start("regular-1") >= log.at(ok)[3], f"regular-1 started before a postStart succeeded:\n{log}"
    assert log.count("regular-1", "start") == 1
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


def test_a_post_start_http_get_with_no_response_kills_the_main_pre_stop_first_and_never_restarts_it(usher, act, tmp_path):
    """kuberuntime_container.go startContainer + lifecycle/handlers.go runHTTPHandler: an httpGet
    postStart that gets no response (connection refused: nothing listens) fails; the container is
    killed, its preStop first. restartPolicy Never: not restarted; the pod ends and usher exits
    with the main's status (143: it died of its SIGTERM)."""
    port = free_port()
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("regular-1", act("regular-1"),
                                          lifecycle=lifecycle(post_start=http_handler(port, path="/post-start"),
                                                              pre_stop=exec_handler(act("PreStop-regular-1", "--exit-after", 300))))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 143, u.stderr()
    log = LifecycleLog(u.events())
    log.run_together_lhs_first("regular-1", "PreStop-regular-1")
    assert log.signalled("regular-1") >= log.time_of("PreStop-regular-1", "exit"), f"the stop signal came before the preStop ended:\n{log}"
    log.exits("regular-1")
    log.has_not_restarted("regular-1")
    assert any("postStart" in t for t in u.log_texts()), "the log does not say the postStart hook failed:\n" + u.stderr()


def test_a_main_killed_for_a_failing_post_start_is_restarted_under_on_failure(usher, act, tmp_path):
    """restartPolicy OnFailure: a main whose postStart exec hook fails is killed (preStop first),
    exits non-zero (143) and is restarted; its second run's hook succeeds and it exits 0 by itself:
    usher exits 0."""
    hook = fail_once(act, tmp_path / "failed-once", "PostStart-regular-1")
    pod = write_pod(tmp_path, restartPolicy="OnFailure",
                    containers=[container("regular-1", act("regular-1", "--exit-after", 1500),
                                          lifecycle=lifecycle(post_start=exec_handler(hook),
                                                              pre_stop=exec_handler(act("PreStop-regular-1", "--exit-after", 200))))])
    u = usher(["-f", pod])
    assert u.wait(timeout=25) == 0, u.stderr()
    log = LifecycleLog(u.events())
    failed = log.index("PostStart-regular-1", "exit", detail="1")
    pre_stop = log.index("PreStop-regular-1", "start", failed)
    log.index("regular-1", "signal", pre_stop)
    log.has_restarted("regular-1")
    assert [e[2] for e in log.all("regular-1", "exit")] == ["143", "0"], f"killed, then done by itself:\n{log}"


def test_an_http_status_does_not_fail_a_post_start_hook(usher, act, events_log, tmp_path):
    """lifecycle/handlers.go runHTTPHandler: the response's status is not looked at, only whether
    there was one. A postStart answered 500 counts as done: regular-1 keeps running, regular-2
    starts after it."""
    port = free_port()
    pod = write_pod(tmp_path, init=[hooks_server(events_log, port, tmp_path, "--status", 500)],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          lifecycle=lifecycle(post_start=http_handler(port, path="/post-start"))),
                                container("regular-2", act("regular-2", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", "regular-2", timeout=15)
    u.wait_for(lambda: u.find("hooks-server", "answered", "500"), timeout=5, what="the hook's answer")
    log = LifecycleLog(u.events())
    assert log.time_of_start("regular-2") >= log.time_of("hooks-server", "request")
    log.not_signalled("regular-1")
    log.has_not_restarted("regular-1")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


# --- httpGet preStop ---------------------------------------------------------------------------------

def test_an_http_get_pre_stop_hook_is_waited_for_and_its_status_ignored(usher, act, events_log, tmp_path):
    """kuberuntime_container.go killContainer/executePreStopHook with an httpGet handler: the
    stop signal follows the hook's response, whatever its status (here a 500 sent after 1s)."""
    port = free_port()
    pod = write_pod(tmp_path, init=[hooks_server(events_log, port, tmp_path, "--status", 500, "--delay-ms", 1000)],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          lifecycle=lifecycle(pre_stop=http_handler(port, path="/pre-stop")))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    request = log.index("hooks-server", "request", detail="/pre-stop")
    log.within("the preStop request", log.at(request)[3], sent, 0, 700)
    log.within("regular-1's stop signal after the request (answered after 1s)", log.signalled("regular-1"), log.at(request)[3], 950, 2500)
    log.exits_before("regular-1", "hooks-server")


def test_http_get_hooks_send_the_kubelet_s_user_agent_and_accept_and_http_headers_win(usher, act, events_log, tmp_path):
    """pkg/probe/http/request.go NewRequestForHTTPGetAction(..., "lifecycle"): User-Agent
    kube-lifecycle/<major>.<minor> and Accept: */*, unless httpHeaders set them. The postStart sets
    none; the preStop sets its own User-Agent and an extra header."""
    port = free_port()
    pod = write_pod(tmp_path, init=[hooks_server(events_log, port, tmp_path)],
                    containers=[container("regular-1", act("regular-1", "--code", 0),
                                          lifecycle=lifecycle(
                                              post_start=http_handler(port, path="/post-start"),
                                              pre_stop=http_handler(port, path="/pre-stop",
                                                                    headers=[("User-Agent", "custom-agent/2"), ("X-Hook", "pre-stop")])))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", timeout=15)
    # The stop request ends a postStart still in flight: wait for its request to arrive (under
    # qemu the connection can take longer than the test takes to signal).
    log_path = tmp_path / "requests.jsonl"
    u.wait_for(lambda: log_path.exists() and '"/post-start"' in log_path.read_text(), timeout=10,
               what="the postStart request")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()
    got = {r["path"]: r for r in requests(tmp_path / "requests.jsonl")}
    assert set(got) == {"/post-start", "/pre-stop"}, got
    assert header(got["/post-start"], "User-Agent") == KUBE_LIFECYCLE, got["/post-start"]
    assert header(got["/post-start"], "Accept") == "*/*", got["/post-start"]
    assert header(got["/pre-stop"], "User-Agent") == "custom-agent/2", got["/pre-stop"]
    assert header(got["/pre-stop"], "X-Hook") == "pre-stop", got["/pre-stop"]
    assert header(got["/pre-stop"], "Accept") == "*/*", got["/pre-stop"]


@pytest.mark.parametrize("hook", ["postStart", "preStop"])
def test_an_https_hook_is_a_config_error(usher, tmp_path, hook):
    """Only scheme HTTP: an httpGet hook with scheme HTTPS is a config error with FILE:LINE:COLUMN,
    exit 2, nothing started (the kubelet would try TLS, then fall back to HTTP)."""
    marker = tmp_path / "marker"
    pod = write_pod(tmp_path, init=[container("first", ["touch", marker])],
                    containers=[container("web", ["sleep", "5"],
                                          lifecycle={hook: http_handler(8080, path="/", scheme="HTTPS")})])
    u = usher(["-f", pod])
    assert u.wait() == 2
    assert re.search(re.escape(pod) + r":\d+:\d+: .*(HTTPS|scheme)", u.stderr()), u.stderr()
    assert not os.path.exists(marker) and not u.log_lines()
