"""Kubelet parity: the pod's restartPolicy for main containers, and container restartPolicy /
restartPolicyRules (KEP-5307).

- Never (Jobs): each main runs once; the pod ends when every main has exited; only then are the
  sidecars stopped, in reverse; usher exits 0 when every main exited 0, else with the status of
  the first main that failed.
- OnFailure: a main that exits non-zero is restarted in place (at once, then the kubelet's
  back-off 10s, 20s, ...); one that exits 0 is done.
- Always (the default): unchanged, the first main's exit ends the container with its status
  (the one deliberate difference: the engine above counts the restart).
- Container restartPolicy + restartPolicyRules (action Restart, exitCodes In/NotIn): the first
  matching rule restarts, else the container's restartPolicy decides; `usher check` shows the
  rules; invalid rules are config errors (FILE:LINE:COLUMN, exit 2).

Each test names the case of kubernetes/kubernetes test/e2e_node/container_lifecycle_test.go it
mirrors (or the API's validation, pkg/apis/core/validation validateContainerRestartPolicy)."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import USHER
from helpers.lifecycle_log import LifecycleLog
from helpers.podfile import container, sidecar, write_pod


def runs(act, counter, name, codes, exit_after=200):
    """A command whose n-th run (from 0) is actor `name` exiting with codes[n] after exit_after
    ms, and 0 once the list is used up (the run count is kept in the file `counter`)."""
    cases = " ".join(f"{i}) c={c};;" for i, c in enumerate(codes))
    base = " ".join(act(name, "--exit-after", exit_after))
    return ["sh", "-c", f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; "
                        f"case $n in {cases} *) c=0;; esac; exec {base} --code $c"]


def rule(operator, values, action="Restart"):
    return {"action": action, "exitCodes": {"operator": operator, "values": list(values)}}


def check(pod):
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    return subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True, env=env, timeout=20)


# --- restartPolicy: Never ----------------------------------------------------------------------------

def test_should_complete_a_pod_successfully_with_a_two_worker_job_and_a_sidecar(usher, act, tmp_path):
    """e2e: When("a restartable init container runs continuously") (restartPolicy=Never)
    It("should complete a Pod successfully and produce log"), It("should not restart a
    restartable init container"), It("should run a regular container to completion"); the two-worker
    Job whose worker-b usher used to stop when worker-a exited. worker-a exits after 0.5s, worker-b
    after 3s: worker-b gets no signal and finishes its work; the sidecar is stopped only after
    worker-b exited; usher exits 0."""
    pod = write_pod(tmp_path, kind="Job", restartPolicy="Never",
                    init=[sidecar("log-shipper", act("log-shipper", "--linger", 200, "--code", 0))],
                    containers=[container("worker-a", act("worker-a", "--exit-after", 500)),
                                container("worker-b", act("worker-b", "--exit-after", 3000))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.not_signalled("worker-b")
    assert [e[2] for e in log.all("worker-b", "exit")] == ["0"], f"worker-b should finish its work:\n{log}"
    log.within("worker-b ran its 3s", log.time_of("worker-b", "exit"), log.time_of_start("worker-b"), 2900, 4500)
    log.exits_before("worker-a", "worker-b")
    log.exits_before("worker-b", "log-shipper")
    assert log.signalled("log-shipper") >= log.time_of("worker-b", "exit"), f"the sidecar was stopped before the last worker ended:\n{log}"
    for n in ("worker-a", "worker-b", "log-shipper"):
        log.has_not_restarted(n)


def test_never_usher_exits_with_the_status_of_the_first_main_that_failed(usher, act, tmp_path):
    """restartPolicy Never: every main runs to its end (none is signalled, none restarted);
    worker-b fails first (exit 3 at 0.5s), worker-a later (exit 5 at 1s), worker-c succeeds:
    usher exits 3, once all three have exited."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("worker-a", act("worker-a", "--exit-after", 1000, "--code", 5)),
                                container("worker-b", act("worker-b", "--exit-after", 500, "--code", 3)),
                                container("worker-c", act("worker-c", "--exit-after", 1500))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 3, u.stderr()
    log = LifecycleLog(u.events())
    for n in ("worker-a", "worker-b", "worker-c"):
        log.exits(n)
        log.not_signalled(n)
        log.has_not_restarted(n)
    assert u.ended_at >= log.time_of("worker-c", "exit")


@pytest.mark.parametrize("code", [0, 1])
def test_should_restart_a_restartable_init_container_before_and_after_the_regular_container_started(usher, act, tmp_path, code):
    """e2e: When("a restartable init container starts and exits with exit code 0 continuously")
    and ("... exit code 1 continuously") (restartPolicy=Never): It("should restart a restartable
    init container before the regular container started"), It("... after the regular container
    started"), It("should run a regular container to completion"), It("should complete a Pod
    successfully and produce log"). A sidecar is restarted whatever the pod's policy and its
    exit code; the pod still completes (usher exits 0)."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    init=[sidecar("restartable-init-1", act("restartable-init-1", "--exit-after", 800, "--code", code)),
                          container("init-1", act("init-1", "--exit-after", 300))],
                    containers=[container("regular-1", act("regular-1", "--exit-after", 1500))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.starts_before("restartable-init-1", "regular-1")
    log.starts_before("regular-1", "restartable-init-1")
    log.exits("regular-1")
    log.has_not_restarted("regular-1")


# --- restartPolicy: OnFailure ---------------------------------------------------------------------------

def test_on_failure_restarts_a_failed_main_in_place_at_once_and_not_one_that_succeeded(usher, act, tmp_path):
    """restartPolicy OnFailure (pkg/kubelet/container/helpers.go ShouldContainerBeRestarted):
    flaky exits 1 once and is restarted in place at once (the kubelet's first restart has no
    back-off), then exits 0 and is done; steady exits 0 and is never restarted or signalled; the
    sidecar is stopped after both are done; usher exits 0."""
    pod = write_pod(tmp_path, restartPolicy="OnFailure",
                    init=[sidecar("restartable-init-1", act("restartable-init-1", "--code", 0))],
                    containers=[container("flaky", runs(act, tmp_path / "flaky.count", "flaky", [1])),
                                container("steady", act("steady", "--exit-after", 1500))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.has_restarted("flaky")
    assert [e[2] for e in log.all("flaky", "exit")] == ["1", "0"], f"flaky: fails, then succeeds:\n{log}"
    log.within("flaky's restart after its failure", log.time_of("flaky", "start", 1), log.time_of("flaky", "exit", 0), 0, 700)
    log.has_not_restarted("steady")
    log.not_signalled("steady")
    log.not_signalled("flaky")
    log.exits_before("steady", "restartable-init-1")
    assert log.signalled("restartable-init-1") >= max(log.time_of("flaky", "exit", 1), log.time_of("steady", "exit"))


def test_on_failure_backs_off_10s_before_the_second_restart(usher, act, tmp_path):
    """restartPolicy OnFailure, with the kubelet's back-off: a main that keeps failing is
    restarted at once the first time, then only after 10s (the log says so); the other main keeps
    running untouched."""
    pod = write_pod(tmp_path, restartPolicy="OnFailure",
                    containers=[container("crasher", act("crasher", "--exit-after", 200, "--code", 1)),
                                container("steady", act("steady", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("steady")
    u.wait_for(lambda: len(u.find("crasher", "exit")) >= 2, timeout=10, what="crasher to fail twice")
    time.sleep(2.5)
    log = LifecycleLog(u.events())
    assert log.count("crasher", "start") == 2, f"the second restart waits 10s:\n{log}"
    log.within("crasher's first restart", log.time_of("crasher", "start", 1), log.time_of("crasher", "exit", 0), 0, 700)
    assert u.running(), "usher ended while a main was only waiting for its restart"
    log.not_signalled("steady")
    log.has_not_restarted("steady")
    assert any("10s" in t and "crasher" in t for t in u.log_texts()), "the log does not announce the 10s back-off:\n" + u.stderr()
    u.signal(signal.SIGTERM)
    u.wait(timeout=20)
    assert LifecycleLog(u.events()).count("crasher", "start") == 2, "no restart once the shutdown has begun"


# --- restartPolicy: Always (the deliberate difference) ---------------------------------------------------

def test_should_restart_failing_container_when_pod_restart_policy_is_always_is_left_to_the_engine(usher, act, tmp_path):
    """e2e: When("running a Pod with a failed regular container")
    It("should restart failing container when pod restartPolicy is Always") - the one deliberate
    difference: with restartPolicy Always (Deployments, the default) the first main's exit ends
    usher with its status, so that the container engine or the kubelet above counts the restart;
    usher does not restart it in place."""
    pod = write_pod(tmp_path, kind="Deployment", restartPolicy="Always",
                    init=[sidecar("restartable-init-1", act("restartable-init-1", "--code", 0))],
                    containers=[container("regular-1", act("regular-1", "--exit-after", 500, "--code", 1)),
                                container("regular-2", act("regular-2", "--code", 0))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 1, u.stderr()
    log = LifecycleLog(u.events())
    log.has_not_restarted("regular-1")
    assert log.signalled("regular-2") >= log.time_of("regular-1", "exit")


# --- container restartPolicy and restartPolicyRules (KEP-5307) --------------------------------------------

@pytest.mark.parametrize("policy, rules, codes, starts, status", [
    ("Never", [rule("In", [42])], [42, 1], 2, 1),
    ("Never", [rule("In", [42])], [1], 1, 1),
    ("Never", [rule("NotIn", [0, 1])], [7, 0], 2, 0),
    ("Never", [rule("In", [3]), rule("In", [42])], [42, 0], 2, 0),
    ("OnFailure", [rule("In", [42])], [3, 0], 2, 0),
    ("OnFailure", [rule("In", [42])], [0], 1, 0),
], ids=["never-in-42-restarts-42-not-1", "never-in-42-not-1", "never-notin-0-1-restarts-7", "second-rule-matches",
        "onfailure-no-rule-matches-policy-restarts", "onfailure-exit-0-done"])
def test_container_restart_policy_rules_decide_a_main_s_restart(usher, act, tmp_path, policy, rules, codes, starts, status):
    """KEP-5307 (kubernetes/enhancements keps/sig-node/5307-container-restart-policy;
    pkg/kubelet/container/helpers.go ShouldContainerBeRestarted with ContainerRestartRules):
    a main's own restartPolicy and restartPolicyRules override the pod's (Never here); the first
    rule whose exitCodes match restarts it (at once, the first time), otherwise its restartPolicy
    decides. usher exits with the last run's status when it failed."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("job", runs(act, tmp_path / "job.count", "job", codes),
                                          restartPolicy=policy, restartPolicyRules=rules)])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == status, u.stderr()
    log = LifecycleLog(u.events())
    assert log.count("job", "start") == starts, f"expected {starts} run(s):\n{log}"
    if starts == 2:
        log.within("the rule's restart", log.time_of("job", "start", 1), log.time_of("job", "exit", 0), 0, 700)


def test_check_shows_a_container_s_restart_rules(tmp_path):
    """`usher check -f` shows a main's restartPolicy and its rules."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("job", ["true"], restartPolicy="Never",
                                          restartPolicyRules=[rule("In", [42, 43]), rule("NotIn", [0, 7])])])
    r = check(pod)
    assert r.returncode == 0, r.stderr
    block = r.stdout.split("  1. job:", 1)[1].split("on SIGTERM", 1)[0]
    assert "42" in block and "43" in block and "In" in block, r.stdout
    assert "NotIn" in block and "7" in block, r.stdout
    assert "Never" in block or "never" in block, r.stdout


RULES_OK = [rule("In", [42])]


@pytest.mark.parametrize("fields, message", [
    ({"restartPolicyRules": RULES_OK}, "restartPolicyRules"),
    ({"restartPolicy": "Sometimes"}, "Sometimes"),
    ({"restartPolicy": "Never", "restartPolicyRules": [rule("Equals", [42])]}, "operator"),
    ({"restartPolicy": "Never", "restartPolicyRules": [rule("In", [42], action="Kill")]}, "action"),
    ({"restartPolicy": "Never", "restartPolicyRules": [rule("In", [42], action="RestartAllContainers")]}, "action"),
    ({"restartPolicy": "Never", "restartPolicyRules": [rule("In", [i]) for i in range(1, 22)]}, "20"),
    ({"restartPolicy": "Never", "restartPolicyRules": [rule("NotIn", range(256))]}, "255"),
    ({"restartPolicy": "Never", "restartPolicyRules": [{"action": "Restart"}]}, "exitCodes"),
], ids=["rules-without-restartPolicy", "bad-restartPolicy", "bad-operator", "bad-action", "restart-all-containers-alpha",
        "21-rules", "256-values", "no-exitCodes"])
def test_invalid_restart_rules_are_config_errors_with_a_position(usher, tmp_path, fields, message):
    """pkg/apis/core/validation validateContainerRestartPolicy: rules need the container's own
    restartPolicy (Always, OnFailure or Never), action Restart (RestartAllContainers is 1.35's
    alpha, off by default), operator In or NotIn, exitCodes, at most 20 rules and 255 values each.
    Each is a config error naming FILE:LINE:COLUMN and the field (or the bad value, or the
    limit), exit 2, nothing started."""
    marker = tmp_path / "marker"
    pod = write_pod(tmp_path, init=[container("first", ["touch", marker])],
                    containers=[container("job", ["true"], **fields)])
    u = usher(["-f", pod])
    assert u.wait() == 2, u.stderr()
    err = u.stderr()
    assert re.search(re.escape(pod) + r":\d+:\d+: ", err), err
    assert message in err, err
    assert "unknown field" not in err and "only init containers" not in err, "main containers take these fields now: " + err
    assert not os.path.exists(marker) and not u.log_lines()
