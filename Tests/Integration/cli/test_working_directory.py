"""usher's own working directory: it moves to / so that it does not pin the directory (and so the
mount) it was started in for its whole life, as dumb-init and catatonit do; the processes it starts
still start where they would have: in the directory usher was started in, or in their container's
workingDir."""
import os
import signal

import pytest

from helpers.podfile import container, exec_probe, pre_stop_exec, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


@MODES
@pytest.mark.parametrize("how", ["flags", "pod"])
def test_usher_moves_to_root_and_its_children_start_where_they_should(usher, act, tmp_path, how, pid1):
    """usher is started in a directory of its own. Its cwd (read from /proc) is /, while the
    sidecar and the main start in that directory (with a pod file, also an exec probe's command
    and a preStop hook), and a container with a workingDir starts there. Guards the regression
    where usher stayed in the directory it was started in, keeping its mount busy."""
    here, own = tmp_path / "started-here", tmp_path / "own-dir"
    here.mkdir()
    own.mkdir()
    if how == "flags":
        args = ["--sidecar", "side=" + act.line("side", "--report-cwd"), "--", *act("main", "--report-cwd")]
        expected = {"side": str(here), "main": str(here)}
    else:
        # Its readiness probe's command and its sidecar's preStop hook start where it does too.
        probe = exec_probe(act("probe", "--report-cwd", "--exit-after", 0, "--code", 0), period=1)
        hook = pre_stop_exec(act("hook", "--report-cwd", "--exit-after", 0, "--code", 0))
        pod = write_pod(tmp_path, init=[sidecar("side", act("side", "--report-cwd"), lifecycle=hook)],
                        containers=[container("main", act("main", "--report-cwd"), readinessProbe=probe),
                                    container("other", act("other", "--report-cwd"), workingDir=str(own))])
        args = ["-f", pod]
        expected = {"side": str(here), "main": str(here), "other": str(own), "probe": str(here)}
    u = usher(args, pid1=pid1, cwd=str(here))
    u.wait_started(*expected)
    u.wait_for(lambda: all(u.find(n, "cwd") for n in expected), what="every child's cwd")
    got = {n: u.first(n, "cwd")[2] for n in expected}
    assert got == expected, got
    cwd = os.readlink(f"/proc/{u.pid}/cwd")
    assert cwd == "/", f"usher's own cwd is {cwd}"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    if how == "pod":
        assert u.first("hook", "cwd")[2] == str(here), "the preStop hook started elsewhere"
