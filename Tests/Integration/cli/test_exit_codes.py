"""usher's own exit statuses: 120 when an init container failed (no main
container ran); a sidecar or hook the deadline had to kill leaves the main containers' status (the
kubelet marks such a pod Succeeded), and 137 when the deadline killed the main; and the two rules
applied last: `--remap-exit CODE` (repeatable, USHER_REMAP_EXIT=143,130)
maps the final status to 0, as tini's -e does; `--stop-is-success` (USHER_STOP_IS_SUCCESS=1)
makes a requested stop that the main process obeyed (its stop signal, or 128 + it) exit 0.
Invalid values are usage errors: exit 2, nothing started."""
import re
import signal

import pytest

from helpers.podfile import container, exec_handler, lifecycle, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


def exiting_status(u):
    """The status in usher's last log line, `exiting with status N`."""
    last = u.log_texts()[-1]
    m = re.match(r"exiting with status (\d+)", last)
    assert m, u.stderr()
    return int(m.group(1))


# --- 120: an init container failed --------------------------------------------------------------

@MODES
@pytest.mark.parametrize("how, shown", [("code", r"\b3\b"), ("signal", r"SIGUSR1|\b138\b")])
def test_a_failed_init_container_gives_120_and_the_log_names_it_and_its_status(usher, act, tmp_path, pid1, how, shown):
    fail = act("migrate", "--exit-after", 100, "--code", 3) if how == "code" else \
        ["sh", "-c", "sleep 0.1; kill -USR1 $$$$"]  # $$ is $ in a pod file
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy")), container("migrate", fail)],
                    containers=[container("web", act("web"))])
    u = usher(["-f", pod], pid1=pid1)
    assert u.wait(timeout=30) == 120, u.stderr()
    assert not u.find("web", "start"), "the main container must not run after a failed init container"
    assert any(t.startswith("proxy[") and "stopping with SIGTERM" in t for t in u.log_texts()), u.stderr()
    named = [t for t in u.log_texts() if "migrate" in t and re.search(shown, t)]
    assert named, f"no log line names the init container and its status:\n{u.stderr()}"
    assert exiting_status(u) == 120


def test_a_failed_init_container_gives_120_in_a_job_too(usher, act, tmp_path):
    pod = write_pod(tmp_path, kind="Job", init=[container("setup", act("setup", "--exit-after", 50, "--code", 1))],
                    containers=[container("work", act("work"))])
    u = usher(["-f", pod])
    assert u.wait(timeout=30) == 120, u.stderr()
    assert not u.find("work", "start")


# --- a kill at the deadline: the main's status stands ----------------------------------------

@MODES
def test_a_sidecar_killed_at_the_deadline_after_a_clean_requested_stop_leaves_the_main_s_0(usher, act, pid1):
    """As the kubelet: e2e "should mark pod as succeeded if any of the restartable init
    containers have exceeded its termination grace period seconds"; the log says it was killed."""
    u = usher(["--grace", "2s", "--sidecar", "stubborn=" + act.line("stubborn", "--ignore", "TERM"),
               "--", *act("main", "--code", 0)], pid1=pid1)
    u.wait_started("stubborn", "main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 0, u.stderr()
    assert u.first("main", "exit")[2] == "0"
    assert any(t.startswith("stubborn[") and "SIGKILL" in t for t in u.log_texts()), u.stderr()


@MODES
def test_a_sidecar_killed_at_the_deadline_after_the_main_exited_0_by_itself_leaves_0(usher, act, pid1):
    u = usher(["--grace", "2s", "--sidecar", "stubborn=" + act.line("stubborn", "--ignore", "TERM"),
               "--", *act("main", "--exit-after", 1500, "--code", 0)], pid1=pid1)
    u.wait_started("stubborn")
    assert u.wait(timeout=30) == 0, u.stderr()
    assert u.first("stubborn", "start")[3] < u.first("main", "exit")[3], "the sidecar was not ready when signalled"
    assert any(t.startswith("stubborn[") and "SIGKILL" in t for t in u.log_texts()), u.stderr()


def test_a_pre_stop_hook_ended_by_the_stop_window_leaves_the_main_s_0(usher, act, tmp_path):
    """The main's preStop hook ignores SIGTERM and sleeps on; the stop window ends it, the main
    then exits 0 on its stop signal: its 0 is the status, and the log says the hook was cut."""
    hook = exec_handler(["sh", "-c", "trap '' TERM; echo hook-running >> " + str(tmp_path / "hook") + "; sleep 30"])
    pod = write_pod(tmp_path, containers=[container("web", act("web", "--code", 0), lifecycle=lifecycle(pre_stop=hook))],
                    terminationGracePeriodSeconds=3)
    u = usher(["-f", pod])
    u.wait_started("web")
    u.signal(signal.SIGTERM)
    u.wait_for(lambda: (tmp_path / "hook").exists(), what="the preStop hook to run")
    assert u.wait(timeout=30) == 0, u.stderr()
    assert u.first("web", "exit")[2] == "0"
    assert any("preStop cut short" in t for t in u.log_texts()), u.stderr()


@MODES
@pytest.mark.parametrize("main_opts, expected", [
    (["--code", 5], 5),                # a failing main's own status
    ([], 143),                         # the main died of its stop signal: 128 + 15
    (["--ignore", "TERM"], 137),       # the deadline killed the main itself
])
def test_the_main_status_is_the_answer_when_a_sidecar_was_killed(usher, act, pid1, main_opts, expected):
    u = usher(["--grace", "2s", "--sidecar", "stubborn=" + act.line("stubborn", "--ignore", "TERM"),
               "--", *act("main", *main_opts)], pid1=pid1)
    u.wait_started("stubborn", "main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == expected, u.stderr()


def test_0_when_everything_stopped_cleanly(usher, act):
    u = usher(["--grace", "5s", "--sidecar", "side=" + act.line("side", "--code", 0), "--", *act("main", "--code", 0)])
    u.wait_started("side", "main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 0, u.stderr()


# --- --remap-exit ---------------------------------------------------------------------------------

@MODES
def test_remap_exit_turns_a_requested_sigterm_death_into_0(usher, act, pid1):
    u = usher(["--remap-exit", "143", "--", *act("main")], pid1=pid1)
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 0, u.stderr()
    assert u.first("main", "exit")[2] == "143"


@pytest.mark.parametrize("code, expected", [(3, 0), (4, 0), (5, 5)])
def test_remap_exit_is_repeatable_and_maps_only_its_codes(usher, act, code, expected):
    u = usher(["--remap-exit", "3", "--remap-exit=4", "--", *act("main", "--exit-after", 50, "--code", code)])
    assert u.wait() == expected, u.stderr()


@pytest.mark.parametrize("sig, main_opts, expected", [
    (signal.SIGINT, [], 0), (signal.SIGTERM, [], 0), (signal.SIGTERM, ["--code", 3], 3)])
def test_usher_remap_exit_takes_a_comma_list(usher, act, sig, main_opts, expected):
    u = usher(["--", *act("main", *main_opts)], env={"USHER_REMAP_EXIT": "143,130"})
    u.wait_started("main")
    u.signal(sig)
    assert u.wait() == expected, u.stderr()


def test_the_remap_exit_flag_wins_over_usher_remap_exit(usher, act):
    u = usher(["--remap-exit", "4", "--", *act("main", "--exit-after", 50, "--code", 3)], env={"USHER_REMAP_EXIT": "3"})
    assert u.wait() == 3, u.stderr()


def test_remap_exit_applies_to_usher_own_statuses_and_with_a_pod_file(usher, act, tmp_path):
    failing = write_pod(tmp_path, filename="init.yaml", init=[container("setup", act("setup", "--exit-after", 50, "--code", 1))],
                        containers=[container("web", act("web"))])
    u = usher(["--remap-exit", "120", "-f", failing])
    assert u.wait(timeout=30) == 0, u.stderr()
    main3 = write_pod(tmp_path, filename="main.yaml", containers=[container("web", act("web2", "--exit-after", 50, "--code", 3))])
    v = usher(["-f", main3], env={"USHER_REMAP_EXIT": "3"})
    assert v.wait(timeout=30) == 0, v.stderr()
    w = usher(["--grace", "2s", "--remap-exit", "137", "--sidecar", "stubborn=" + act.line("stubborn", "--ignore", "TERM"),
               "--", *act("main", "--ignore", "TERM")])
    w.wait_started("stubborn", "main")
    w.signal(signal.SIGTERM)
    assert w.wait(timeout=30) == 0, w.stderr()


# --- --stop-is-success ----------------------------------------------------------------------------

@MODES
@pytest.mark.parametrize("main_opts", [[], ["--code", 143]], ids=["died-of-sigterm", "exited-143"])
def test_stop_is_success_when_the_main_obeyed_a_requested_stop(usher, act, pid1, main_opts):
    u = usher(["--stop-is-success", "--", *act("main", *main_opts)], pid1=pid1)
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 0, u.stderr()


def test_usher_stop_is_success_variable(usher, act):
    u = usher(["--", *act("main")], env={"USHER_STOP_IS_SUCCESS": "1"})
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 0, u.stderr()


@pytest.mark.parametrize("main_opts, expected", [([], 0), (["--code", 143], 143), (["--code", 130], 0)],
                         ids=["died-of-sigint", "exited-143", "exited-130"])
def test_stop_is_success_follows_the_stop_signal(usher, act, main_opts, expected):
    """With --stop-signal SIGINT only SIGINT (or 130) counts: 143 is not the stop signal's status."""
    u = usher(["--stop-is-success", "--stop-signal", "SIGINT", "--", *act("main", "--catch", "TERM", *main_opts)])
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == expected, u.stderr()
    u.first("main", "signal", str(int(signal.SIGINT)))


def test_stop_is_success_needs_a_stop_request(usher, act):
    # The main dies of SIGTERM, but nobody asked usher to stop: a failure, as before.
    u = usher(["--stop-is-success", "--", "sh", "-c", "sleep 0.1; kill -TERM $$"])
    assert u.wait() == 143, u.stderr()


@pytest.mark.parametrize("main_opts, expected", [(["--code", 3], 3), (["--ignore", "TERM"], 137)],
                         ids=["exited-3", "killed-at-deadline"])
def test_stop_is_success_keeps_other_statuses_of_a_requested_stop(usher, act, main_opts, expected):
    u = usher(["--stop-is-success", "--grace", "2s", "--", *act("main", *main_opts)])
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == expected, u.stderr()


# --- invalid values -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, env, names", [
    (["--remap-exit", "256"], {}, "--remap-exit"),
    (["--remap-exit", "-1"], {}, "--remap-exit"),
    (["--remap-exit", "abc"], {}, "--remap-exit"),
    (["--remap-exit", "1.5"], {}, "--remap-exit"),
    (["--remap-exit", ""], {}, "--remap-exit"),
    (["--remap-exit", "99999999999999999999"], {}, "--remap-exit"),
    (["--remap-exit"], {}, "--remap-exit"),
    ([], {"USHER_REMAP_EXIT": "143,abc"}, "USHER_REMAP_EXIT"),
    ([], {"USHER_REMAP_EXIT": "300"}, "USHER_REMAP_EXIT"),
    ([], {"USHER_REMAP_EXIT": "143,,130"}, "USHER_REMAP_EXIT"),
    ([], {"USHER_STOP_IS_SUCCESS": "maybe"}, "USHER_STOP_IS_SUCCESS"),
], ids=lambda v: repr(v) if isinstance(v, str) else None)
def test_invalid_values_are_usage_errors_and_start_nothing(usher, act, args, env, names):
    # The main ends by itself after 1s: a value taken for valid makes the run end 0, not hang.
    u = usher(["--sidecar", "s=" + act.line("s"), *args, "--", *act("main", "--exit-after", 1000)], env=env)
    assert u.wait() == 2, u.stderr()
    err = u.stderr()
    assert err.startswith("usher: ") and names in err, err
    assert "unknown option" not in err, f"the option itself must be known: {err}"
    assert u.events() == [], "nothing may start on a usage error"
