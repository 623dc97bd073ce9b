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
    assert text[4] == "preStop: waiting 100ms before stopping the main process"
    assert text[5] == f"actor[{main}] stopping with SIGTERM"
    assert text[6].startswith(f"actor[{main}] exited with signal SIGTERM ")
    assert text[7] == f"logs[{logs}] stopping with SIGTERM"
    assert text[9] == f"proxy[{proxy}] stopping with SIGTERM"
    assert text[-1] == "exiting with status 143"
    assert "hunter2" not in err, "an environment value leaked into the log"
