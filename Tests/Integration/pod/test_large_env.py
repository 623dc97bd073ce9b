"""A large container environment: 10,000 entries, within usher's limits for a pod file, must not
starve the event loop. The environment is composed once per start of the container (usher's own
entries first, then the container's, a later entry winning) and handed as it is to each of its exec
probes, so a probe costs a spawn and no more: a stop request is logged at once and the shutdown
keeps its deadline."""
import signal
import subprocess
import time

import pytest

from conftest import ms
from helpers.podfile import container, exec_probe, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])

ENTRIES = 10_000


def large_env():
    """10,000 entries; DUP is set first early and again late (the late value wins), and HOME,
    which usher's own environment also has, is set by the container."""
    env = [{"name": f"V{k:05d}", "value": f"v{k}"} for k in range(ENTRIES - 3)]
    env.insert(10, {"name": "DUP", "value": "first"})
    env.insert(20, {"name": "HOME", "value": "/container-home"})
    env.append({"name": "DUP", "value": "last"})
    return env


@MODES
def test_a_stop_is_logged_at_once_with_ten_thousand_variables_and_two_exec_probes(usher, act, tmp_path, pid1):
    """The main has 10,000 env entries, an exec readiness probe that checks the composed values
    (DUP's last value, the container's HOME over usher's, the last plain entry) and an exec
    liveness probe, both every second; grace 3 s. Once the main is ready, SIGTERM: usher logs it
    within 1 s, the main gets its stop signal, and usher exits within the grace (5 s with the
    margin). The regression: each spawn de-duplicated the entries with a scan per entry inside
    the loop (about 1.4 s a spawn here), the probes' spawns followed one another, and the
    SIGTERM was not even logged 20 s later."""
    check = f'test "$DUP" = last && test "$HOME" = /container-home && test "$V{ENTRIES - 4:05d}" = v{ENTRIES - 4}'
    main = container("app", act("main"), env=large_env(),
                     readinessProbe=exec_probe(["sh", "-c", check], period=1, failures=30),
                     livenessProbe=exec_probe(["true"], period=1, failures=30))
    pod = write_pod(tmp_path, containers=[main], terminationGracePeriodSeconds=3, fmt="json")
    u = usher(["-f", pod], pid1=pid1, env={"HOME": "/usher-home"})
    u.wait_for(lambda: any(t.startswith("app[") and t.endswith("] is ready") for t in u.log_texts()),
               timeout=30, what="the main to be ready (its probe checks its environment)")
    sent = u.signal(signal.SIGTERM)
    logged = lambda: any("received SIGTERM" in t for t in u.log_texts())  # noqa: E731
    u.wait_for(lambda: logged() or not u.running(), timeout=20, what="usher to log the SIGTERM")
    seen = time.monotonic_ns()
    assert logged(), u.stderr()
    try:
        code = u.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"usher still running 20 s after SIGTERM\n{u.stderr()}")
    took = ms(u.ended_at - sent)
    problems = []
    if ms(seen - sent) >= 1000:
        problems.append(f"the SIGTERM was logged {ms(seen - sent):.0f} ms after it was sent")
    if took >= 5000:
        problems.append(f"usher exited {took:.0f} ms after SIGTERM, past the 3 s grace and its margin")
    if code != 143:
        problems.append(f"exit status {code}, expected 143")
    got = u.first("main", "signal")
    if got[2] != "15" or ms(got[3] - sent) >= 1000:
        problems.append(f"the main's stop signal came {ms(got[3] - sent):.0f} ms after SIGTERM: {got}")
    assert not problems, "\n".join(problems) + f"\nstderr:\n{u.stderr()}"
