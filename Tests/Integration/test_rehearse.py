"""`usher rehearse` on real processes: each kind of shutdown gets its verdict and exit status."""
import json


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
    import os
    pid = u.first("orphan", "start")[4]
    assert not os.path.exists(f"/proc/{pid}") or " Z " in open(f"/proc/{pid}/stat").read(), \
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
