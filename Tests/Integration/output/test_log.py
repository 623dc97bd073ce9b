"""The lifecycle log on stderr: one short line per event, timestamped, with names and pids, and
never an environment value."""
import signal

from conftest import LOG_LINE


def test_a_healthy_run_is_short_readable_and_complete(usher, act):
    u = usher(["--sidecar", "proxy=" + act.line("proxy"), "--sidecar", "logs=" + act.line("logs"),
               "--pre-stop", "100ms", "--", *act("main")],
              env={"DB_PASSWORD": "hunter2-secret-value"})
    u.wait_started("proxy", "logs", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    err = u.stderr()
    lines = err.splitlines()
    assert all(LOG_LINE.match(l) for l in lines), err
    assert len(lines) <= 12, err
    text = [l.split(" usher: ")[1] for l in lines]
    proxy, logs, main = (u.first(n, "start")[4] for n in ("proxy", "logs", "main"))
    assert text[:3] == [f"proxy[{proxy}] started", f"logs[{logs}] started", f"actor[{main}] started"]
    assert text[3] == "received SIGTERM, shutting down (deadline in 30s)"
    assert text[4] == f"actor[{main}] preStop: waiting 100ms before its stop signal"
    assert text[5] == f"actor[{main}] stopping with SIGTERM"
    assert text[6].startswith(f"actor[{main}] exited with signal SIGTERM ")
    assert text[7] == f"logs[{logs}] stopping with SIGTERM"
    assert text[9] == f"proxy[{proxy}] stopping with SIGTERM"
    assert text[-1] == "exiting with status 143"
    assert "hunter2" not in err, "an environment value leaked into the log"


def test_json_log_lines_for_log_pipelines(usher, act):
    import json
    u = usher(["--log-format", "json", "--grace", "500ms", "--sidecar", "side=" + act.line("side"),
               "--", *act("main", "--ignore", "TERM")], env={"SECRET_TOKEN": "s3cr3t-value"})
    u.wait_started("side", "main")
    u.signal(signal.SIGTERM)
    assert u.wait() == 137
    err = u.stderr()
    records = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "event", "message"} <= r.keys() for r in records), records
    main_pid = u.first("main", "start")[4]
    events = [(r["event"], r.get("process"), r.get("pid")) for r in records]
    assert ("started", "actor", main_pid) in events
    # The 500ms grace is no longer than the stop window (2s by default): every stop signal goes
    # out at the stop request, the sidecar's before its turn, and both are said in JSON.
    side_pid = u.first("side", "start")[4]
    short = [r for r in records if r["event"] == "grace_shorter_than_window"]
    assert [(r["level"], r["grace_ms"], r["window_ms"]) for r in short] == [("warn", 500, 2000)], short
    window = [r for r in records if r["event"] == "stop_window"]
    assert [(r["process"], r["pid"], r["signal"], r["reason"]) for r in window] == \
        [("side", side_pid, "SIGTERM", "turn_not_come")], window
    # At the deadline everything still alive is killed: the main process, which ignores SIGTERM
    # (the sidecar has exited on its SIGTERM).
    killed = [r for r in records if r["event"] == "killed_at_deadline"]
    assert sorted((r["process"], r["pid"], r["level"]) for r in killed) == [("actor", main_pid, "error")]
    exited = next(r for r in records if r["event"] == "exited" and r["process"] == "actor")
    assert exited["status"] == 137 and exited["signal"] == "SIGKILL" and exited["stop_duration_ms"] >= 450
    assert records[-1]["event"] == "exiting" and records[-1]["status"] == 137
    assert "s3cr3t" not in err


def test_usher_log_format_variable(usher, act):
    u = usher(["--", *act("main", "--exit-after", 50)], env={"USHER_LOG_FORMAT": "json"})
    assert u.wait() == 0
    assert u.stderr().startswith('{"time":"')
    bad = usher(["--", *act("main2")], env={"USHER_LOG_FORMAT": "xml"})
    assert bad.wait() == 2
    assert 'USHER_LOG_FORMAT: unknown log format "xml"' in bad.stderr()
