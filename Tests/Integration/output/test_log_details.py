"""The lifecycle log in detail: every line of a shutdown in order with names, pids and measured
times; timestamps in UTC that match the clock; the deadline's lines; and never a command argument
or an environment value."""
import calendar
import re
import signal
import time

import pytest

from conftest import LOG_LINE

SECONDS = re.compile(r"(\d+\.\d{3})s")


def _seconds(text):
    return float(SECONDS.search(text).group(1))


def test_every_line_of_an_ordered_shutdown(usher, act):
    u = usher(["--pre-stop", "200ms",
               "--sidecar", "proxy=" + act.line("proxy", "--linger", 150),
               "--sidecar", "logs=" + act.line("logs", "--linger", 250, "--code", 0),
               "--", *act("main", "--linger", 300)])
    u.wait_started("proxy", "logs", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    lines = u.stderr().splitlines()
    assert all(LOG_LINE.match(l) for l in lines), u.stderr()
    assert len(lines) <= 12, "a healthy start and stop of an app with 2 sidecars stays short"
    proxy, logs, main = (u.first(n, "start")[4] for n in ("proxy", "logs", "main"))
    t = u.log_texts()
    assert t[:6] == [
        f"proxy[{proxy}] started",
        f"logs[{logs}] started",
        f"actor[{main}] started",
        "received SIGTERM, shutting down (deadline in 30s)",
        f"actor[{main}] preStop: waiting 200ms before its stop signal",
        f"actor[{main}] stopping with SIGTERM",
    ], t
    assert re.fullmatch(rf"actor\[{main}\] exited with signal SIGTERM \d+\.\d{{3}}s after its stop signal", t[6]), t[6]
    assert t[7] == f"logs[{logs}] stopping with SIGTERM"
    assert re.fullmatch(rf"logs\[{logs}\] exited with status 0 \d+\.\d{{3}}s after its stop signal", t[8]), t[8]
    assert t[9] == f"proxy[{proxy}] stopping with SIGTERM"
    assert re.fullmatch(rf"proxy\[{proxy}\] exited with signal SIGTERM \d+\.\d{{3}}s after its stop signal", t[10]), t[10]
    assert t[11] == "exiting with status 143"
    # The measured times are the lingers, give or take scheduling.
    for text, linger in ((t[6], 0.3), (t[8], 0.25), (t[10], 0.15)):
        assert linger - 0.02 <= _seconds(text) < linger + 0.5, text


def test_timestamps_are_utc_milliseconds_that_follow_the_clock(usher, act):
    before = time.time()
    u = usher(["--", *act("main", "--exit-after", 300)])
    assert u.wait() == 0
    after = time.time()
    stamps = []
    for line in u.log_lines():
        stamp = line.split(" ", 1)[0]
        whole, millis = stamp[:-1].split(".")
        stamps.append(calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(millis) / 1000)
    assert len(stamps) == 3, u.stderr()  # started, exited, exiting
    assert stamps == sorted(stamps)
    assert before - 1 <= stamps[0] and stamps[-1] <= after + 1, (before, stamps, after)
    assert 0.25 <= stamps[1] - stamps[0] < 1.5, "the exit is logged about 300 ms after the start"
    assert 0.28 <= _seconds(u.log_texts()[1]) < 1.5
    assert re.fullmatch(r"actor\[\d+\] exited with status 0 after running \d+\.\d{3}s", u.log_texts()[1])


def test_the_deadline_names_each_process_it_kills(usher, act):
    u = usher(["--grace", "700ms", "--sidecar", "side=" + act.line("side", "--ignore", "TERM"),
               "--", *act("main", "--exit-after", 100)])
    assert u.wait() == 0
    side = u.first("side", "start")[4]
    t = u.log_texts()
    i = t.index(f"side[{side}] stopping with SIGTERM")
    assert t[i + 1] == f"side[{side}] still running at the deadline: SIGKILL"
    assert re.fullmatch(rf"side\[{side}\] exited with signal SIGKILL \d+\.\d{{3}}s after its stop signal", t[i + 2])
    assert 0.65 <= _seconds(t[i + 2]) < 1.5
    assert t[i + 3:] == ["exiting with status 0"]


def test_no_command_argument_or_environment_value_is_ever_logged(usher, act):
    secrets = {"DB_PASSWORD": "env-secret-hunter2", "ACTOR_ENV": "env-secret-actor"}
    u = usher(["--grace", "500ms",
               "--sidecar", "side=" + act.line("side", "--ignore", "TERM", "--tag", "arg-secret-1"),
               "--", *act("main", "--ignore", "TERM", "--tag", "arg-secret-2")],
              env=secrets)
    u.wait_started("side", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 137
    err = u.stderr()
    assert "still running at the deadline" in err  # the run went through its whole log
    for leak in ("secret", "hunter2", "--tag", "--log", "--ignore"):
        assert leak not in err, f"{leak!r} leaked into the log:\n{err}"


# USHER BUG (cosmetic, found by this suite, not fixed here): when the main process has exited by
# itself and the sidecars are being stopped, the first SIGTERM usher ever receives is logged as
# "received SIGTERM again; ...": the supervisor logs every stop request after the shutdown began
# as a repeat, whatever began it.
def test_a_first_stop_request_during_the_sidecars_shutdown_is_not_called_a_repeat(usher, act):
    u = usher(["--sidecar", "side=" + act.line("side", "--linger", 600),
               "--", *act("main", "--exit-after", 100)])
    u.wait_for(lambda: u.find("side", "signal", "15"), what="the sidecar's stop signal")
    u.signal(signal.SIGTERM)  # usher's first SIGTERM
    assert u.wait() == 0
    received = [t for t in u.log_texts() if t.startswith("received SIGTERM")]
    assert len(received) == 1, u.log_texts()
    assert "again" not in received[0], received[0]
