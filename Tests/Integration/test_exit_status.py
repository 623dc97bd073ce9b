"""Exit statuses and start-up failures: the main process's code, 128+N, 2 for usage errors with
nothing started, 127 and 126 naming the command, and a sidecar that cannot start."""
import os
import signal
import stat

import pytest


def test_main_exit_code_is_usher_exit_code(usher):
    u = usher(["--", "sh", "-c", "exit 3"])
    assert u.wait() == 3


def test_main_killed_by_a_signal_gives_128_plus_n(usher):
    u = usher(["--", "sh", "-c", "kill -USR2 $$"])
    assert u.wait() == 128 + signal.SIGUSR2
    assert "exited with signal SIGUSR2" in u.stderr()


@pytest.mark.parametrize("args, env, message", [
    (["--grace", "abc"], {}, '--grace: invalid duration "abc"'),
    (["--pre-stop", "5x"], {}, '--pre-stop: invalid duration "5x"'),
    (["--stop-signal", "SIGNOPE"], {}, '--stop-signal: unknown signal "SIGNOPE"'),
    (["--gracee", "1s"], {}, "unknown option '--gracee'"),
    (["--sidecar", "broken"], {}, '--sidecar "broken": expected NAME=COMMAND'),
    (["--sidecar", "x=sh -c 'oops"], {}, "--sidecar x: unterminated single quote"),
    ([], {"USHER_GRACE": "soon"}, 'USHER_GRACE: invalid duration "soon"'),
    ([], {"USHER_STOP_SIGNAL": "NOPE"}, 'USHER_STOP_SIGNAL: unknown signal "NOPE"'),
])
def test_usage_errors_exit_2_name_the_problem_and_start_nothing(usher, act, args, env, message):
    u = usher(args + ["--sidecar", "s=" + act.line("s"), "--", *act("main")], env=env) \
        if "--sidecar" not in args else usher(args + ["--", *act("main")], env=env)
    assert u.wait() == 2
    err = u.stderr()
    assert err.startswith("usher: ") and message in err, err
    assert u.events() == [], "nothing may start on a usage error"


def test_missing_command_is_a_usage_error(usher):
    u = usher(["--grace", "1s"])
    assert u.wait() == 2
    assert "no command given" in u.stderr()


def test_help_and_version_exit_0(usher):
    u = usher(["--help"], pid1=False)
    assert u.wait() == 0
    v = usher(["--version"], pid1=False)
    assert v.wait() == 0


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
    events = [l.split(" usher: ")[1] for l in u.log_lines()]
    order = [e.split(" ")[0] + " " + e.split(" ")[1] for e in events if " stopping " in e or " exited " in e]
    assert order == ["b[3] stopping", "b[3] exited", "a[2] stopping", "a[2] exited"], events
