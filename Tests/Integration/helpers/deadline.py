"""The check every "SIGTERM, then SIGKILL at the deadline" test makes, in one place: usher runs
with --grace G and a main that catches SIGTERM and goes on running, while something tries to
hold usher up (a full pipe, a terminal that takes no output, a main out of its group)."""
import signal
import subprocess

from conftest import ms
from helpers.reliability import wait_until


def stop_then_deadline(u, main="main", grace_ms=2000, within_ms=5000, stuck=lambda: ""):
    """Sends SIGTERM to usher and returns (problems, sent): every promise of the stop that did
    not hold (empty when all did) and the monotonic time it was sent. The promises: the main
    gets its stop signal at once (within 1 s); usher exits between the deadline and `within_ms`
    after the signal (it is still running 6 s on: `stuck()` says where it is); with status 137,
    the deadline's SIGKILL of the main."""
    problems = []
    grace = f"{grace_ms / 1000:g} s"
    sent = u.signal(signal.SIGTERM)
    wait_until(lambda: u.find(main, "signal", "15"), 2)
    got = u.find(main, "signal", "15")
    if not got or ms(got[0][3] - sent) >= 1000:
        problems.append(f"the main's stop signal did not come at once: {got}")
    try:
        code = u.wait(timeout=6)
        took = ms(u.ended_at - sent)
        if not grace_ms - 50 <= took < within_ms:
            problems.append(f"usher exited {took:.0f} ms after SIGTERM with --grace {grace}")
        if code != 137:
            problems.append(f"usher exited with status {code}, not 137")
    except subprocess.TimeoutExpired:
        problems.append(f"usher still running 6 s after SIGTERM with --grace {grace} ({stuck()})")
    return problems, sent
