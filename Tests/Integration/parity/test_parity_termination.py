"""Kubelet parity: the termination sequence of the kubelet
(pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer: preStop first, then
terminationOrdering.waitForTurn) inside one deadline, and the stop window.

- At the stop request every running container's preStop starts at once, sidecars included;
  a main gets its stop signal when its own preStop ends; a sidecar when its own preStop has
  ended and every main and every later-started sidecar has exited.
- One deadline D = stop request + grace. At D - window (--min-stop-window, default 2s) every
  process still waiting for its preStop or its turn gets its stop signal at once, so nothing is
  SIGKILLed less than the window after its stop signal, and D never moves; a grace period not
  longer than the window sends every stop signal at the stop request.

Each test mirrors a case of kubernetes/kubernetes test/e2e_node/container_lifecycle_test.go,
named in its docstring, with the e2e's container names, asserted with the e2e's helpers over
the actors' event log (helpers/lifecycle_log.py). Durations are shorter than the e2e's, the
margins generous: order and windows, not speeds."""
import signal

import pytest

from helpers.lifecycle_log import LifecycleLog
from helpers.podfile import container, exec_handler, exec_probe, lifecycle, sidecar, sleep_handler, write_pod

SIDECARS = ("restartable-init-1", "restartable-init-2", "restartable-init-3")


def stop_window_logged(u):
    assert any("stop window" in t for t in u.log_texts()), "the log does not say the stop window was used:\n" + u.stderr()


# --- every preStop at once, then the kubelet's turns ------------------------------------------------

def test_should_call_sidecar_container_prestop_hook_simultaneously(usher, act, tmp_path):
    """e2e: When("the restartable init containers have multiple PreStop hooks")
    It("should call sidecar container PreStop hook simultaneously").
    restartPolicy Never; three sidecars whose exec preStop hooks take 1s; the main exits by
    itself, which ends the pod: the three hooks start together (the e2e allows 1s, here 600ms),
    right when the main has exited, the main exits before every sidecar and the sidecars exit in
    reverse order, each after its own hook."""
    init = [sidecar(n, act(n, "--linger", 200, "--code", 0),
                    lifecycle=lifecycle(pre_stop=exec_handler(act(f"PreStop-{n}", "--exit-after", 1000))))
            for n in SIDECARS]
    pod = write_pod(tmp_path, restartPolicy="Never", init=init,
                    containers=[container("regular-1", act("regular-1", "--exit-after", 1000))])
    u = usher(["-f", pod])
    assert u.wait(timeout=30) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.starts_before("restartable-init-1", "restartable-init-2")
    log.starts_before("restartable-init-1", "restartable-init-3")
    log.starts_before("restartable-init-2", "restartable-init-3")
    for n in SIDECARS:
        log.starts_before(n, "regular-1")
    # main containers exit first
    for n in SIDECARS:
        log.exits_before("regular-1", n)
    # followed by sidecars in reverse order
    log.exits_before("restartable-init-3", "restartable-init-2")
    log.exits_before("restartable-init-2", "restartable-init-1")
    # and the pre-stop hooks should have been called simultaneously
    hooks = [log.time_of_start(f"PreStop-{n}") for n in SIDECARS]
    log.together("the sidecars' preStop hooks started", hooks, 600)
    main_exit = log.time_of("regular-1", "exit")
    for n, t in zip(SIDECARS, hooks):
        log.within(f"PreStop-{n} started after regular-1 exited", t, main_exit, 0, 700)
        assert log.signalled(n) >= log.time_of(f"PreStop-{n}", "exit"), f"{n}'s stop signal came before its preStop ended"


def test_sidecar_pre_stop_sleeps_start_at_the_stop_request_and_turns_still_go_in_reverse(usher, act, tmp_path):
    """e2e: It("should call sidecar container PreStop hook simultaneously"), with sleep hooks and
    a SIGTERM. Sidecar hooks sleep 1s, 2s and 1s (restartable-init-1, -2, -3); the main lingers
    0.8s after its SIGTERM. All hooks start at the SIGTERM, so -3's stop signal comes at ~1s (its
    hook has ended and the main exited at 0.8s), -2's at ~2s (its own hook), and -1's as soon as
    -2 has exited (its hook ended long before). Hooks that waited for their turn would give
    -3 ~1.8s, -2 ~4s."""
    seconds = {"restartable-init-1": 1, "restartable-init-2": 2, "restartable-init-3": 1}
    init = [sidecar(n, act(n, "--linger", 200, "--code", 0), lifecycle=lifecycle(pre_stop=sleep_handler(seconds[n])))
            for n in SIDECARS]
    pod = write_pod(tmp_path, init=init, containers=[container("regular-1", act("regular-1", "--linger", 800, "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", *SIDECARS)
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.within("regular-1's stop signal (no preStop)", log.signalled("regular-1"), sent, 0, 500)
    log.exits_before("regular-1", "restartable-init-3")
    log.exits_before("restartable-init-3", "restartable-init-2")
    log.exits_before("restartable-init-2", "restartable-init-1")
    log.within("restartable-init-3's stop signal (1s hook from the SIGTERM)", log.signalled("restartable-init-3"), sent, 950, 1500)
    log.within("restartable-init-2's stop signal (2s hook from the SIGTERM)", log.signalled("restartable-init-2"), sent, 1950, 2900)
    assert log.signalled("restartable-init-2") >= log.time_of("restartable-init-3", "exit")
    log.within("restartable-init-1's stop signal after restartable-init-2 exited",
               log.signalled("restartable-init-1"), log.time_of("restartable-init-2", "exit"), 0, 600)


def test_should_terminate_sidecars_simultaneously_if_prestop_doesnt_exit(usher, act, tmp_path):
    """e2e: When("The PreStop hooks don't exit")
    It("should terminate sidecars simultaneously if prestop doesn't exit").
    restartPolicy Never, grace 4s; three sidecars whose exec preStop hooks loop for ever and
    which take 5s to exit after SIGTERM; the main exits by itself. The hooks start together and
    end together; each sidecar gets its stop signal at D - 2s (their hooks are ended then) and is
    SIGKILLed at D, 2s later. (The kubelet instead lets each hook run the whole grace period and
    then gives the container 2s more, minimumGracePeriodInSeconds: the e2e expects the hooks to
    live ~32s of a 30s grace period. usher keeps D and ends the hooks at D - window.)"""
    init = [sidecar(n, act(n, "--linger", 5000, "--code", 0),
                    lifecycle=lifecycle(pre_stop=exec_handler(act(f"PreStop-{n}", "--loop", 200))))
            for n in SIDECARS]
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=4, init=init,
                    containers=[container("regular-1", act("regular-1", "--exit-after", 1000))])
    u = usher(["-f", pod])
    u.wait(timeout=30)
    log = LifecycleLog(u.events())
    for n in SIDECARS:
        log.starts_before(n, "regular-1")
    stop = log.time_of("regular-1", "exit")  # the pod's end: the stop request
    starts = [log.time_of_start(f"PreStop-{n}") for n in SIDECARS]
    log.together("the preStop hooks started", starts, 600)
    lasts = [log.time_of_last_loop(f"PreStop-{n}") for n in SIDECARS]
    # should all end together since they loop infinitely and exceed their grace period
    log.together("the preStop hooks' last loops", lasts, 1000)
    for n, s, last in zip(SIDECARS, starts, lasts):
        log.within(f"PreStop-{n} started after the main's exit", s, stop, 0, 700)
        log.within(f"PreStop-{n} ran until D - window", last, s, 1500, 2800)
    signals = [log.signalled(n) for n in SIDECARS]
    log.together("the sidecars' stop signals", signals, 500)
    for n, t in zip(SIDECARS, signals):
        log.within(f"{n}'s stop signal (D - 2s)", t, stop, 1850, 2900)
        assert not log.all(n, "exit"), f"{n} lingers 5s after SIGTERM: it should have been SIGKILLed at D"
        log.within(f"{n} SIGKILLed (usher's end) after its stop signal", u.ended_at, t, 1850, 3500)
    log.within("usher's end (D = 4s after the main's exit)", u.ended_at, stop, 3850, 5500)
    stop_window_logged(u)


# --- the stop window -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, env, grace, signal_at", [
    ([], {}, 6, 4),
    (["--min-stop-window", "3s"], {}, 6, 3),
    ([], {"USHER_MIN_STOP_WINDOW": "3s"}, 4, 1),
], ids=["default-2s", "flag-3s", "env-3s"])
def test_should_respect_termination_grace_period_seconds_with_long_running_prestop_hook(usher, act, tmp_path, flags, env, grace, signal_at):
    """e2e: When("a pod cannot terminate gracefully")
    It("should respect termination grace period seconds with long-running preStop hook"),
    and It("should mark pod as failed if any of the prestop hook in regular container has
    exceeded its termination grace period seconds").
    A main whose preStop never ends and which ignores SIGTERM (it catches it): its stop signal
    comes at D - window (its hook ended then), the SIGKILL at D (usher exits 137), never less than
    the window after the stop signal; the hook runs from the SIGTERM until D - window."""
    hook = "PreStop-regular1"
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=grace,
                    containers=[container("regular1", act("regular1", "--catch", "TERM"),
                                          lifecycle=lifecycle(pre_stop=exec_handler(act(hook, "--loop", 200))))])
    u = usher([*flags, "-f", pod], env=env)
    u.wait_started("regular1")
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=grace + 10) == 137, u.stderr()
    log = LifecycleLog(u.events())
    log.within("the preStop hook's start", log.time_of_start(hook), sent, 0, 700)
    sig = log.signalled("regular1")
    assert [e[2] for e in log.all("regular1", "signal")] == ["15"], "one stop signal, SIGTERM"
    log.within("regular1's stop signal (D - window)", sig, sent, signal_at * 1000 - 100, signal_at * 1000 + 900)
    log.within("the hook's last loop (it is ended at D - window)", log.time_of_last_loop(hook), sent,
               signal_at * 1000 - 700, signal_at * 1000 + 600)
    log.within("the SIGKILL at D (usher's end)", u.ended_at, sent, grace * 1000 - 100, grace * 1000 + 1500)
    window = grace - signal_at
    log.within("from the stop signal to the SIGKILL", u.ended_at, sig, window * 1000 - 150, window * 1000 + 1500)
    stop_window_logged(u)


def test_the_stop_window_holds_for_the_command_line_pre_stop_too(usher, act):
    """The stop window holds without -f too: --pre-stop 3500ms with --grace 4s (a --pre-stop longer
    than --grace is a usage error) used to leave the app 0.5s between its SIGTERM and the SIGKILL;
    now the SIGTERM comes at D - 2s, the preStop cut short."""
    u = usher(["--pre-stop", "3500ms", "--grace", "4s", "--", *act("app", "--catch", "TERM")])
    u.wait_started("app")
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=15) == 137
    log = LifecycleLog(u.events())
    sig = log.signalled("app")
    log.within("app's stop signal (D - 2s)", sig, sent, 1900, 2900)
    log.within("the SIGKILL at D", u.ended_at, sent, 3900, 5500)
    log.within("from the stop signal to the SIGKILL", u.ended_at, sig, 1850, 3500)
    stop_window_logged(u)


@pytest.mark.parametrize("grace", [1, 2])
def test_a_grace_period_not_longer_than_the_window_sends_every_stop_signal_at_the_stop_request(usher, act, tmp_path, grace):
    """When terminationGracePeriodSeconds is not longer than the window (2s), the stop signals go
    out at the stop request, to the main and the sidecar alike, and no preStop runs. (The kubelet's
    killContainer: minimumGracePeriodInSeconds, 2s.)"""
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=grace,
                    init=[sidecar("proxy", act("proxy", "--code", 0),
                                  lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-proxy", "--exit-after", 5000))))],
                    containers=[container("web", act("web", "--code", 0),
                                          lifecycle=lifecycle(pre_stop=exec_handler(act("PreStop-web", "--exit-after", 5000))))])
    u = usher(["-f", pod])
    u.wait_started("proxy", "web")
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=15) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.doesnt_start("PreStop-web")
    log.doesnt_start("PreStop-proxy")
    log.within("web's stop signal", log.signalled("web"), sent, 0, 500)
    log.within("proxy's stop signal", log.signalled("proxy"), sent, 0, 500)
    stop_window_logged(u)


def test_should_mark_pod_as_failed_if_regular_container_has_exceeded_its_termination_grace_period_seconds(usher, act, tmp_path):
    """e2e: It("should mark pod as failed if regular container has exceeded its termination grace
    period seconds"). Grace 5s; the main takes 20s to exit after SIGTERM, so the sidecars' turn
    never comes: all three get their stop signals together at D - 2s; restartable-init-2 exits
    within 0.5s (Completed), the other two and the main are SIGKILLed at D; usher exits 137 (the
    main's status). The kubelet gets the same statuses by sending SIGTERM to the sidecars at D and
    SIGKILL 2s later; usher keeps D."""
    linger = {"restartable-init-1": 20000, "restartable-init-2": 500, "restartable-init-3": 20000}
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=5,
                    init=[sidecar(n, act(n, "--linger", linger[n], "--code", 0)) for n in SIDECARS],
                    containers=[container("regular-1", act("regular-1", "--linger", 20000, "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", *SIDECARS)
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 137, u.stderr()
    log = LifecycleLog(u.events())
    log.within("regular-1's stop signal", log.signalled("regular-1"), sent, 0, 500)
    signals = [log.signalled(n) for n in SIDECARS]
    log.together("the sidecars' stop signals", signals, 500)
    for n, t in zip(SIDECARS, signals):
        log.within(f"{n}'s stop signal (D - 2s)", t, sent, 2850, 3900)
        log.within(f"{n}: no SIGKILL less than the window after its stop signal", u.ended_at, t, 1850, 3500)
    log.exits("restartable-init-2")
    for n in ("regular-1", "restartable-init-1", "restartable-init-3"):
        assert not log.all(n, "exit"), f"{n} should have been SIGKILLed at D"
    log.within("usher's end (D)", u.ended_at, sent, 4900, 6500)
    stop_window_logged(u)


def test_should_mark_pod_as_succeeded_if_any_of_the_restartable_init_containers_have_exceeded_its_termination_grace_period_seconds(usher, act, tmp_path):
    """e2e: It("should mark pod as succeeded if any of the restartable init containers have
    exceeded its termination grace period seconds"). Grace 5s; restartable-init-2 takes 20s to
    exit after SIGTERM, so restartable-init-1, which waits for it, would never get its turn: it
    gets its stop signal at D - 2s and exits (Completed); restartable-init-2 is SIGKILLed at D.
    The main exited 0, so usher exits 0."""
    linger = {"restartable-init-1": 300, "restartable-init-2": 20000, "restartable-init-3": 300}
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=5,
                    init=[sidecar(n, act(n, "--linger", linger[n], "--code", 0)) for n in SIDECARS],
                    containers=[container("regular-1", act("regular-1", "--linger", 300, "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", *SIDECARS)
    sent = u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.exits_before("regular-1", "restartable-init-3")
    assert log.signalled("restartable-init-2") >= log.time_of("restartable-init-3", "exit")
    log.within("restartable-init-2's turn (after -3 exited)", log.signalled("restartable-init-2"), sent, 300, 1800)
    log.within("restartable-init-1's stop signal (D - 2s: its turn never came)", log.signalled("restartable-init-1"), sent, 2850, 3900)
    log.exits("restartable-init-1")
    assert not log.all("restartable-init-2", "exit"), "restartable-init-2 should have been SIGKILLed at D"
    log.within("usher's end (D)", u.ended_at, sent, 4900, 6500)
    stop_window_logged(u)


# --- the rest of the e2e's termination cases --------------------------------------------------------

def test_should_terminate_sidecars_in_reverse_order_after_all_main_containers_have_exited(usher, act, tmp_path):
    """e2e: When("The containers exit successfully")
    It("should terminate sidecars in reverse order after all main containers have exited").
    restartPolicy Never: the main's exit ends the pod; the sidecars (each taking 0.3s to exit)
    are stopped in reverse start order, each exiting 0; usher exits 0."""
    pod = write_pod(tmp_path, restartPolicy="Never",
                    init=[sidecar(n, act(n, "--linger", 300, "--code", 0)) for n in SIDECARS],
                    containers=[container("regular-1", act("regular-1", "--exit-after", 1000))])
    u = usher(["-f", pod])
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.starts_before("restartable-init-1", "restartable-init-2")
    log.starts_before("restartable-init-1", "restartable-init-3")
    log.starts_before("restartable-init-2", "restartable-init-3")
    for n in SIDECARS:
        log.starts_before(n, "regular-1")
        log.exits_before("regular-1", n)
        assert [e[2] for e in log.all(n, "exit")] == ["0"], f"{n}: Completed"
    log.exits_before("restartable-init-3", "restartable-init-2")
    log.exits_before("restartable-init-2", "restartable-init-1")


@pytest.mark.parametrize("by", ["container", "prestop-hook"])
def test_should_mark_pod_as_succeeded_if_any_of_the_restartable_init_containers_have_terminated_with_non_zero_exit_code(usher, act, tmp_path, by):
    """e2e: It("should mark pod as succeeded if any of the restartable init containers have
    terminated with non-zero exit code") and its "... by prestop hook" twin: a sidecar that exits
    1 on SIGTERM, or whose preStop hook exits 1, does not make the pod fail: the main exited 0, so
    usher exits 0."""
    def ri(n):
        if by == "container":
            return sidecar(n, act(n, "--code", 1 if n == "restartable-init-2" else 0))
        code = 1 if n == "restartable-init-2" else 0
        return sidecar(n, act(n, "--code", 0),
                       lifecycle=lifecycle(pre_stop=exec_handler(act(f"PreStop-{n}", "--exit-after", 300, "--code", code))))
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=30,
                    init=[ri(n) for n in SIDECARS],
                    containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("regular-1", *SIDECARS)
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()
    log = LifecycleLog(u.events())
    log.exits_before("regular-1", "restartable-init-3")
    log.exits_before("restartable-init-3", "restartable-init-2")
    log.exits_before("restartable-init-2", "restartable-init-1")


def test_should_not_hang_in_termination_if_terminated_during_initialization(usher, act, tmp_path):
    """e2e: When("Restartable init containers are terminated during initialization")
    It("should not hang in termination if terminated during initialization").
    A plain init container is running, three sidecars with preStop hooks come after it; a SIGTERM
    with a 3s grace period ends usher quickly, and nothing more starts (no sidecar, no hook)."""
    init = [container("start-init", act("start-init"))] + [
        sidecar(n, act(n, "--linger", 5000, "--code", 0),
                lifecycle=lifecycle(pre_stop=exec_handler(act(f"PreStop-{n}", "--exit-after", 1000))))
        for n in SIDECARS]
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=3, init=init,
                    containers=[container("regular-1", act("regular-1", "--exit-after", 5000))])
    u = usher(["-f", pod])
    u.wait_started("start-init")
    sent = u.signal(signal.SIGTERM)
    u.wait(timeout=15)
    log = LifecycleLog(u.events())
    log.within("usher's end", u.ended_at, sent, 0, 1500)
    for n in (*SIDECARS, "regular-1", *(f"PreStop-{n}" for n in SIDECARS)):
        log.doesnt_start(n)


def test_should_terminate_restartable_init_containers_gracefully_if_there_is_a_non_started_restartable_init_container(usher, act, tmp_path):
    """e2e: When("there is a non-started restartable init container")
    It("should terminate restartable init containers gracefully if there is a non-started
    restartable init container"). restartable-init-2's startup probe never passes (600 failures
    allowed), so restartable-init-3 and the main never start; a SIGTERM with 180s of grace stops
    restartable-init-2 at once (nothing started after it to wait for), and usher ends within
    seconds, not at the deadline."""
    pod = write_pod(tmp_path, restartPolicy="Never", terminationGracePeriodSeconds=180,
                    init=[container("init-1", act("init-1", "--exit-after", 300)),
                          sidecar("restartable-init-2", act("restartable-init-2", "--linger", 500, "--code", 0),
                                  startupProbe=exec_probe(["false"], period=1, failures=600)),
                          sidecar("restartable-init-3", act("restartable-init-3", "--code", 0))],
                    containers=[container("regular-1", act("regular-1", "--code", 0))])
    u = usher(["-f", pod])
    u.wait_started("restartable-init-2")
    sent = u.signal(signal.SIGTERM)
    u.wait(timeout=20)
    log = LifecycleLog(u.events())
    log.within("restartable-init-2's stop signal", log.signalled("restartable-init-2"), sent, 0, 500)
    log.exits("restartable-init-2")
    log.within("usher's end", u.ended_at, sent, 0, 2500)
    log.doesnt_start("restartable-init-3")
    log.doesnt_start("regular-1")
