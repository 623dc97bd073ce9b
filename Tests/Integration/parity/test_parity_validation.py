"""Kubelet parity: the API server's validation of the fields usher reads, so that a manifest usher
accepts is one `kubectl apply` would accept. lifecycle.stopSignal (pkg/apis/core/validation:
validateContainerStopSignal, KEP-4960) requires spec.os.name, and takes only the signal names the
API lists for that OS (SIGTERM, SIGUSR1, SIGRTMIN+1, ...; not TERM, not 15). A config error names
FILE:LINE:COLUMN and the field, exit 2, nothing started."""
import os
import re
import subprocess

import pytest

from conftest import USHER
from helpers.podfile import container, lifecycle, sidecar, write_pod


def check(pod):
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    return subprocess.run([USHER, "check", "-f", pod], capture_output=True, text=True, env=env, timeout=20)


def assert_config_error(u, pod, marker, *fragments):
    assert u.wait() == 2, u.stderr()
    err = u.stderr()
    assert re.search(re.escape(pod) + r":\d+:\d+: ", err), err
    for f in fragments:
        assert f in err, err
    assert not os.path.exists(marker) and not u.log_lines()


@pytest.mark.parametrize("where", ["containers", "initContainers"])
def test_stop_signal_requires_spec_os_name(usher, tmp_path, where):
    """validateContainerStopSignal: lifecycle.stopSignal may only be set when spec.os.name is."""
    marker = tmp_path / "marker"
    target = (sidecar if where == "initContainers" else container)("web", ["true"], lifecycle=lifecycle(stopSignal="SIGUSR1"))
    init = [container("first", ["touch", marker])] + ([target] if where == "initContainers" else [])
    mains = [container("app", ["true"])] + ([target] if where == "containers" else [])
    pod = write_pod(tmp_path, init=init, containers=mains)
    u = usher(["-f", pod])
    assert_config_error(u, pod, marker, "stopSignal", "os.name")


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "Job"])
def test_stop_signal_with_os_linux_is_accepted(tmp_path, kind):
    pod = write_pod(tmp_path, kind=kind, os={"name": "linux"},
                    containers=[container("web", ["true"], lifecycle=lifecycle(stopSignal="SIGUSR1")),
                                container("rt", ["true"], lifecycle=lifecycle(stopSignal="SIGRTMIN+1"))])
    r = check(pod)
    assert r.returncode == 0, r.stderr
    assert "SIGUSR1" in r.stdout, r.stdout


@pytest.mark.parametrize("value", ["TERM", "15", "sigterm", "SIGFOO"])
def test_stop_signal_takes_only_the_api_s_signal_names(usher, tmp_path, value):
    """The API's enum (supportedStopSignalsLinux): SIG-prefixed upper-case names only; usher's
    own --stop-signal flag stays as lenient as before."""
    marker = tmp_path / "marker"
    pod = write_pod(tmp_path, os={"name": "linux"}, init=[container("first", ["touch", marker])],
                    containers=[container("web", ["true"], lifecycle=lifecycle(stopSignal=value))])
    u = usher(["-f", pod])
    assert_config_error(u, pod, marker, "stopSignal")


def test_spec_os_name_takes_linux_or_windows(usher, tmp_path):
    """validateOS: spec.os.name is linux or windows (usher reads it now, so it checks it)."""
    marker = tmp_path / "marker"
    pod = write_pod(tmp_path, os={"name": "plan9"}, init=[container("first", ["touch", marker])],
                    containers=[container("web", ["true"])])
    u = usher(["-f", pod])
    assert_config_error(u, pod, marker, "os.name", "plan9")
