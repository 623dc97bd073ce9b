"""Issue 23 item 11: a probe's verdict is the kubelet's.

- Item 11: an exec probe's command has its $(VAR) references expanded against the container's
  env, as the kubelet's prober does (pkg/kubelet/prober/prober.go runProbe,
  ExpandContainerCommandOnlyStatic); messages name the command as written.
"""
import signal

import pytest

from helpers.podfile import container, exec_probe, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


# --- item 11: exec probes see $(VAR) ---------------------------------------------------------------

@MODES
def test_exec_probes_have_their_var_references_expanded(usher, act, tmp_path, pid1):
    """A sidecar's startup probe `test -f $(READY_FILE)` passes when that file exists, so the
    main starts; the main's liveness probe `$(CHECKER) ...` runs the program CHECKER names (an
    actor that logs each run and exits 0), so the main is never restarted. Unexpanded, the
    startup probe never passes (the startup stays blocked) and the liveness probe restarts the
    main for ever."""
    ready = tmp_path / "ready"
    ready.write_text("")
    checker, *check_args = act("liveness-check", "--exit-after", 0)
    pod = write_pod(tmp_path, restartPolicy="Always",
                    init=[sidecar("side", act("side", "--code", 0), env=[{"name": "READY_FILE", "value": str(ready)}],
                                  startupProbe=exec_probe(["test", "-f", "$(READY_FILE)"], period=1, failures=30))],
                    containers=[container("regular-1", act("regular-1", "--code", 0), env=[{"name": "CHECKER", "value": checker}],
                                          livenessProbe=exec_probe(["$(CHECKER)", *check_args], period=1, failures=1))])
    u = usher(["-f", pod], pid1=pid1)
    u.wait_started("regular-1", timeout=10)
    u.wait_for(lambda: len(u.find("liveness-check", "exit")) >= 3, timeout=10, what="three runs of the liveness probe")
    failed = [t for t in u.log_texts() if "probe failed" in t]
    assert not failed, f"a probe failed: {failed}\n{u.stderr()}"
    assert len(u.find("regular-1", "start")) == 1, f"regular-1 was restarted:\n{u.stderr()}"
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


def test_a_probe_s_messages_name_its_command_as_written(usher, act, tmp_path):
    """The expanded command never reaches the log: a liveness probe `$(CHECKER)` whose program
    does not exist fails with a message naming `$(CHECKER)`, not the value it stands for."""
    secret = str(tmp_path / "no-such-dir" / "s3cr3t-checker")
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("regular-1", act("regular-1", "--code", 0), env=[{"name": "CHECKER", "value": secret}],
                                          livenessProbe=exec_probe(["$(CHECKER)", "-v"], period=1, failures=1))])
    u = usher(["-f", pod])
    u.wait(timeout=20)  # restartPolicy Never: the failed probe's stop ends the pod
    failed = [t for t in u.log_texts() if "liveness probe failed" in t]
    assert failed and "command not found: $(CHECKER)" in failed[0], u.stderr()
    assert "s3cr3t" not in u.stderr(), u.stderr()
