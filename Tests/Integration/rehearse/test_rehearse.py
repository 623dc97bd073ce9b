"""`usher rehearse` on real processes: each kind of shutdown gets its verdict and exit status."""
import json

from helpers.proc import alive


def rehearse(usher, args, **kw):
    u = usher(["rehearse", "--after", "300ms", *args], pid1=False, stdout_file=True, **kw)
    code = u.wait(timeout=30)
    return code, u.stdout(), u


def test_an_app_that_stops_cleanly_passes(usher, act):
    code, out, u = rehearse(usher, ["--sidecar", "side=" + act.line("side", "--code", 0),
                                    "--", *act("main", "--linger", 100, "--code", 0)])
    assert code == 0, out
    assert "verdict: PASS" in out
    main_pid = u.first("main", "start")[4]
    row = next(l for l in out.splitlines() if l.startswith("actor "))
    assert f" {main_pid} " in row and "SIGTERM" in row and "exited cleanly in time" in row, out
    assert "shutdown took" in out and "of the 30s grace period" in out


def test_an_app_that_ignores_sigterm_is_killed_and_fails(usher, act):
    code, out, _ = rehearse(usher, ["--grace", "1s", "--", *act("main", "--ignore", "TERM")])
    assert code == 1
    assert "ignored its stop signal: killed at the deadline" in out
    assert "verdict: FAIL: actor ignored its stop signal" in out


def test_an_app_that_exits_non_zero_fails(usher, act):
    code, out, _ = rehearse(usher, ["--", *act("main", "--code", 3)])
    assert code == 1
    assert "exited with status 3" in out and "verdict: FAIL" in out


def test_an_app_that_leaves_an_orphan_fails(usher, act):
    # The shell exits on SIGTERM, but its background child ignores it and stays in the group.
    code, out, u = rehearse(usher, ["--", "sh", "-c",
                                    "trap 'exit 0' TERM; " + act.line("orphan", "--ignore", "TERM") + " & wait"])
    assert code == 1, out
    assert "sh left orphans behind in its process group" in out
    u.wait_for(lambda: True)
    pid = u.first("orphan", "start")[4]
    assert not alive(pid), \
        "the orphan should be killed after the report"


def test_a_daemon_that_leaves_its_group_fails(usher, act):
    code, out, _ = rehearse(usher, ["--", "sh", "-c", "trap 'exit 0' TERM; setsid " + act.line("daemon") + " & wait"])
    assert code == 1, out
    assert "1 orphaned process(es) outlived the shutdown" in out


def test_json_report_and_repeats(usher, act):
    code, out, _ = rehearse(usher, ["--repeat", "3", "--format", "json", "--signal", "SIGINT",
                                    "--", *act("main", "--code", 0)])
    assert code == 0, out
    report = json.loads(out)
    assert report["passed"] is True and len(report["runs"]) == 3
    for run in report["runs"]:
        assert run["stop_signal"] == "SIGINT" and run["passed"] is True
        [main] = run["processes"]
        assert main["verdict"] == "clean" and main["signal"] == "SIGTERM" and main["status"] == 0
        assert 250 <= run["stop_ms"] < 2000
    assert report["shutdown_ms"]["min"] <= report["shutdown_ms"]["median"] <= report["shutdown_ms"]["max"]


# --- --probe: requests dropped during the shutdown ---------------------------------------------

import os
import socket
import sys

from conftest import HELPERS  # noqa: E402

WEBAPP = os.path.join(HELPERS, "webapp.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe_rehearsal(usher, mode, delay, *flags):
    port = free_port()
    return rehearse(usher, ["--after", "1s", "--probe", f"http://127.0.0.1:{port}/", *flags,
                            "--", sys.executable, WEBAPP, str(port), mode, str(delay)])


def probe_line(out):
    return next(l for l in out.splitlines() if l.startswith("probe http://127.0.0.1:"))


def test_an_app_that_dies_with_requests_in_flight_drops_them(usher):
    code, out, _ = probe_rehearsal(usher, "abrupt", 0.2)
    assert code == 1, out
    line = probe_line(out)
    assert " 0 dropped" not in line and "dropped" in line, out
    assert "verdict: FAIL: requests were dropped during the shutdown" in out


def test_an_app_that_drains_behind_a_pre_stop_drops_nothing(usher):
    code, out, _ = probe_rehearsal(usher, "graceful", 0.2, "--pre-stop", "500ms")
    assert code == 0, out
    line = probe_line(out)
    assert "sent in the 500ms after it, 0 dropped" in line, out
    assert int(line.split("; ")[1].split(" ")[0]) >= 3, "requests kept coming during the preStop wait"


def test_a_pre_stop_shorter_than_the_traffic_drops_requests(usher):
    # The load balancer keeps sending for 1 s, but the app is gone after 200 ms of preStop.
    code, out, _ = probe_rehearsal(usher, "graceful", 0.05, "--pre-stop", "200ms", "--probe-for", "1s")
    assert code == 1, out
    assert "sent in the 1s after it" in probe_line(out) and " 0 dropped" not in probe_line(out), out


def test_probe_counts_in_the_json_report(usher):
    code, out, _ = probe_rehearsal(usher, "abrupt", 0.2, "--format", "json")
    report = json.loads(out)
    [probe] = report["runs"][0]["probes"]
    assert probe["dropped"] >= 1 and probe["requests"] >= probe["during_shutdown"] >= probe["dropped"]
    assert report["passed"] is False and code == 1


def test_the_report_is_alone_on_stdout(usher):
    # The children's stdout goes to usher's stderr in a rehearsal, so the JSON report parses.
    code, out, u = rehearse(usher, ["--format", "json", "--prefix", "--sidecar", "chatty=sh -c 'echo side-noise; exec sleep 100'",
                                    "--", "sh", "-c", "echo main-noise; trap 'exit 0' TERM; sleep 100 & wait"])
    assert code == 0, out
    assert json.loads(out)["passed"] is True
    assert "chatty | side-noise" in u.stderr() and "sh     | main-noise" in u.stderr()
    code, out, u = rehearse(usher, ["--format", "json", "--", "sh", "-c", "echo plain-noise; trap 'exit 0' TERM; sleep 100 & wait"])
    assert json.loads(out)["passed"] is True and "plain-noise" in u.stderr()


def test_a_group_member_that_ends_on_the_same_stop_signal_is_not_left_behind(usher):
    """The main container's group gets the stop signal together: a member that takes a moment to
    end on it (here 20 ms of its own trap) outlives its leader briefly, and is not an orphan left
    behind; a member that stays (test_an_app_that_leaves_an_orphan_fails) is."""
    code, out, _ = rehearse(usher, ["--format", "json", "--", "sh", "-c",
                                    "trap 'exit 0' TERM; (trap 'sleep 0.02; exit 0' TERM; sleep 100 & wait) & wait"])
    report = json.loads(out)
    [main] = report["runs"][0]["processes"]
    assert main["verdict"] == "clean" and report["passed"] is True and code == 0, out
