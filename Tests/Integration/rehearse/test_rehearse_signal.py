"""`usher rehearse --signal` and a rehearsal that is interrupted. A rehearsal sends a stop request
to usher; a signal that is not one (SIGUSR1 would only be forwarded, and the rehearsal would never
end; SIGKILL would be forwarded to the app) is a usage error. A rehearsal that a real stop request
interrupts has not passed, whatever its report shows."""
import json
import signal
import subprocess

import pytest

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


@pytest.mark.parametrize("sig", ["USR1", "SIGKILL", "HUP"])
def test_a_rehearsal_signal_that_is_not_a_stop_request_is_a_usage_error(usher, act, sig):
    """Exit status 2, a message on stderr that names --signal and the three stop requests,
    nothing started. Guards the regression where SIGUSR1 was forwarded to the app and the
    rehearsal never ended (a CI job hung until its own timeout), and SIGKILL was forwarded to
    the app and reported."""
    u = usher(["rehearse", "--after", "200ms", "--signal", sig, "--", *act("main", "--code", 0)], pid1=False,
              stdout_file=True)
    try:
        code = u.wait(timeout=5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"usher rehearse --signal {sig} still running after 5 s; log:\n{u.stderr()}") from None
    err = u.stderr()
    assert code == 2, f"status {code}\nstdout:\n{u.stdout()}\nstderr:\n{err}"
    assert "--signal" in err and all(s in err for s in ("SIGTERM", "SIGINT", "SIGQUIT")), err
    assert not u.events(), "something was started"
    assert u.stdout() == "", "no report for a rehearsal that was refused"


@MODES
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_rehearsal_interrupted_by_a_real_stop_request_does_not_pass(usher, act, fmt, pid1):
    """SIGTERM to usher itself 0.5 s into a rehearsal whose own stop signal was due at 3 s: the
    app stops cleanly, but the rehearsal did not run as asked. usher exits 1, and the report
    does not call that run a pass. Guards the regression where it exited 1 under a report
    that said PASS."""
    u = usher(["rehearse", "--after", "3s", "--format", fmt, "--", *act("main", "--code", 0)], pid1=pid1,
              stdout_file=True)
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    code = u.wait(timeout=10)
    out = u.stdout()
    assert code == 1, f"status {code}\n{out}"
    if fmt == "text":
        assert "PASS" not in out, out
    else:
        report = json.loads(out)
        assert report["passed"] is False, out
        assert report["runs"] and all(run["passed"] is not True for run in report["runs"]), out
