"""Exit statuses and start-up failures: the main process's code, 128+N, 2 for usage errors with
nothing started, 127 and 126 naming the command, and a process that cannot start."""
import os
import signal
import stat

import pytest


def test_main_exit_code_is_usher_exit_code(usher):
    u = usher(["--", "sh", "-c", "exit 3"])
    assert u.wait() == 3
    assert u.log_texts()[-1] == "exiting with status 3"


def test_main_killed_by_a_signal_gives_128_plus_n(usher):
    u = usher(["--", "sh", "-c", "kill -USR2 $$"])
    assert u.wait() == 128 + signal.SIGUSR2
    assert "exited with signal SIGUSR2" in u.stderr()


def test_main_dying_of_its_stop_signal_gives_143(usher, act):
    u = usher(["--", *act("main")])
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert u.first("main", "exit")[2] == "143"


def test_main_exit_code_when_stopped_and_exiting_cleanly(usher, act):
    u = usher(["--", *act("main", "--code", 0)])
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 0


@pytest.mark.parametrize("args, env, message", [
    (["--grace", "abc"], {}, '--grace: invalid duration "abc"'),
    (["--pre-stop", "5x"], {}, '--pre-stop: invalid duration "5x"'),
    (["--stop-signal", "SIGNOPE"], {}, '--stop-signal: unknown signal "SIGNOPE"'),
    (["--stop-signal", "0"], {}, '--stop-signal: unknown signal "0"'),
    (["--gracee", "1s"], {}, "unknown option '--gracee'"),
    (["-x"], {}, "unknown option '-x'"),
    (["--sidecar", "broken"], {}, '--sidecar "broken": expected NAME=COMMAND'),
    (["--sidecar", "x=sh -c 'oops"], {}, "--sidecar x: unterminated single quote"),
    (["--sidecar", "bad name=true"], {}, 'the name "bad name" must be'),
    (["--sidecar", "twice=true", "--sidecar", "twice=true"], {}, "--sidecar twice: the name is used twice"),
    (["--sidecar", "e="], {}, "--sidecar e: empty command"),
    ([], {"USHER_GRACE": "soon"}, 'USHER_GRACE: invalid duration "soon"'),
    ([], {"USHER_PRE_STOP": "-1s"}, 'USHER_PRE_STOP: invalid duration "-1s"'),
    ([], {"USHER_STOP_SIGNAL": "NOPE"}, 'USHER_STOP_SIGNAL: unknown signal "NOPE"'),
])
def test_usage_errors_exit_2_name_the_problem_and_start_nothing(usher, act, args, env, message):
    # A good sidecar before the bad part and the main process after it: neither may start.
    u = usher(["--sidecar", "s=" + act.line("s"), *args, "--", *act("main")], env=env)
    assert u.wait() == 2
    err = u.stderr()
    assert err.startswith("usher: ") and message in err, err
    assert u.events() == [], "nothing may start on a usage error"
    assert u.log_lines() == [], "a usage error is reported before the lifecycle log begins"


def test_a_flag_without_its_value_is_a_usage_error(usher, act):
    u = usher(["--sidecar", "s=" + act.line("s"), "--grace"])
    assert u.wait() == 2
    assert "usher: --grace needs a value" in u.stderr()
    assert u.events() == []


@pytest.mark.parametrize("args", [["--grace", "1s"], ["--grace", "1s", "--"], ["--", ""]])
def test_a_missing_command_is_a_usage_error_and_starts_no_sidecar(usher, act, args):
    u = usher(["--sidecar", "s=" + act.line("s"), *args])
    assert u.wait() == 2
    assert "no command given" in u.stderr()
    assert u.events() == [], "the sidecar must not start without a main process"


def test_help_and_version_exit_0_and_start_nothing(usher, act):
    u = usher(["--help", "--", *act("main")], pid1=False, stdout_file=True)
    assert u.wait() == 0
    assert u.stdout().startswith("usage: usher [OPTIONS] [--] COMMAND [ARG...]")
    v = usher(["--version", "--", *act("main")], pid1=False, stdout_file=True)
    assert v.wait() == 0
    assert v.stdout().startswith("usher ")
    assert u.events() == []


def test_command_not_found_is_127_and_named(usher):
    u = usher(["--", "no-such-command-xyz"])
    assert u.wait() == 127
    assert "command not found: no-such-command-xyz" in u.stderr()


def test_not_executable_is_126_and_named(usher, tmp_path):
    path = tmp_path / "script.sh"
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # not executable
    u = usher(["--", str(path)])
    assert u.wait() == 126
    assert f"cannot execute {path}" in u.stderr()


def test_a_sidecar_that_cannot_start_stops_startup(usher, act):
    u = usher(["--sidecar", "a=" + act.line("a", "--linger", 100),
               "--sidecar", "b=" + act.line("b"),
               "--sidecar", "bad=/nonexistent/binary --flag",
               "--sidecar", "c=" + act.line("c"),
               "--", *act("main")])
    assert u.wait() == 127
    err = u.stderr()
    assert "bad could not be started: command not found: /nonexistent/binary" in err
    assert not u.find("c", "start") and not u.find("main", "start"), "nothing after the failure starts"
    # b may be stopped before its first instruction, so read the order from usher's log.
    texts = u.log_texts()
    order = [" ".join(t.split(" ")[:2]) for t in texts if " stopping " in t or " exited " in t]
    assert order == ["b[3] stopping", "b[3] exited", "a[2] stopping", "a[2] exited"], texts
    assert texts[-1] == "exiting with status 127"


def test_a_sidecar_that_cannot_be_executed_gives_126(usher, act, tmp_path):
    path = tmp_path / "not-executable"
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    u = usher(["--sidecar", "a=" + act.line("a"), "--sidecar", f"x={path}", "--", *act("main")])
    assert u.wait() == 126
    assert f"x could not be started: cannot execute {path}" in u.stderr()
    assert not u.find("main", "start")


def test_a_main_process_that_cannot_start_stops_the_sidecars_in_reverse(usher, act):
    u = usher(["--sidecar", "a=" + act.line("a", "--linger", 100), "--sidecar", "b=" + act.line("b", "--linger", 100),
               "--", "no-such-main-xyz"])
    assert u.wait() == 127
    assert "no-such-main-xyz could not be started: command not found: no-such-main-xyz" in u.stderr()
    texts = u.log_texts()
    order = [" ".join(t.split(" ")[:2]) for t in texts if " stopping " in t or " exited " in t]
    assert order == ["b[3] stopping", "b[3] exited", "a[2] stopping", "a[2] exited"], texts
