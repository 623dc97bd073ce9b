"""The Kubernetes "restricted" pod security profile: a pod file run in podman
with `--user 65534 --read-only --cap-drop=all --security-opt no-new-privileges` runs its whole
lifecycle (init container, sidecar, main container, the ordered stop on `podman stop`), and the
status file falls back gracefully where no writable place exists: usher still runs and
`usher status` says there is no status file (exit 1). With a writable tmpfs on /run the status
file works and `usher status` (podman exec) exits 0.

With --read-only podman mounts tmpfs on /run and /tmp itself (root's, mode 755 for /run): the
user 65534 cannot make /run/usher there; `--read-only-tmpfs=false` leaves no tmpfs at all, as
a Kubernetes readOnlyRootFilesystem without an emptyDir. `--tmpfs /run:rw,U` gives the tmpfs to
the container's user (here `mode=1777` on --tmpfs did not take effect: /run stayed 755)."""
import json
import pathlib
import re

import pytest

from helpers.podfile import container, exec_probe, sidecar, write_pod

RESTRICTED = ["--user", "65534", "--read-only", "--cap-drop=all", "--security-opt", "no-new-privileges"]


def start_restricted_pod(c, extra):
    write_pod(pathlib.Path(c.dir), init=[container("setup", c.actor("setup", "--exit-after", 0)),
                                         sidecar("proxy", c.actor("proxy", "--linger", 200))],
              containers=[container("web", c.actor("web", "--linger", 200),
                                    readinessProbe=exec_probe(["/bin/busybox", "test", "-e", "/log/ready"],
                                                              period=1, failures=1))])
    c.run("-f", "/log/pod.yaml", opts=[*RESTRICTED, *extra])
    c.wait_started("proxy", "web")
    c.write("ready", "")
    c.wait_for(lambda: any(re.match(r"web\[\d+\] is ready", l) for l in c.usher_lines()), what="web to be ready")


def check_restricted_children(c):
    for name in ("proxy", "web"):
        pid = c.first(name, "start")[4]
        status = c.exec("/bin/busybox", "cat", f"/proc/{pid}/status").stdout
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        assert fields["Uid"].split()[0] == "65534", f"{name} should run as the user 65534: {fields['Uid']}"
        assert int(fields["CapEff"], 16) == 0, f"{name} should have no capabilities: {fields['CapEff']}"
        assert fields["NoNewPrivs"].strip() == "1", f"{name} should run with no_new_privs"


def stop_in_order(c):
    c.stop()
    assert c.exit_code() == 143, c.logs()
    setup_exit, proxy_start = int(c.first("setup", "exit")[3]), int(c.first("proxy", "start")[3])
    web_start, web_exit = int(c.first("web", "start")[3]), int(c.first("web", "exit")[3])
    proxy_term = int(c.first("proxy", "signal", "15")[3])
    assert setup_exit <= proxy_start and setup_exit <= web_start, c.events()
    # A sidecar without a startup probe lets the next start at once: their first lines race, so
    # the start order is read from usher's log, which logs each spawn in order.
    starts = [l.split("[")[0] for l in c.usher_lines() if l.endswith("] started")]
    assert starts == ["setup", "proxy", "web"], c.usher_lines()
    assert int(c.first("web", "signal", "15")[3]) <= web_exit <= proxy_term, c.events()
    c.first("proxy", "exit")


def test_the_restricted_profile_runs_the_whole_lifecycle(ctr):
    c = ctr()
    start_restricted_pod(c, [])
    check_restricted_children(c)
    stop_in_order(c)


@pytest.mark.parametrize("extra", [[], ["--read-only-tmpfs=false"]], ids=["podman-tmpfs", "no-tmpfs"])
def test_without_a_writable_place_usher_runs_and_status_says_there_is_no_status_file(ctr, extra):
    c = ctr()
    start_restricted_pod(c, extra)
    # podman's own /run tmpfs under --read-only is writable for the user on some versions (it
    # was here): then the status file simply works, which is the graceful case too.
    if not extra and c.exec("/bin/busybox", "test", "-w", "/run").returncode == 0:
        r = c.exec("/usr/bin/usher", "status")
        assert r.returncode == 0, f"/run is writable, so the status file should work:\n{r.stdout}{r.stderr}"
        stop_in_order(c)
        return
    r = c.exec("/usr/bin/usher", "status")
    assert r.returncode == 1, f"usher status must fail without a status file:\n{r.stdout}{r.stderr}"
    assert "status file" in (r.stdout + r.stderr).lower(), f"usher status should say there is no status file:\n{r.stdout}{r.stderr}"
    assert c.running(), "usher must keep running without a status file"
    stop_in_order(c)


def test_the_restricted_profile_with_a_writable_run_has_a_working_status_file(ctr):
    c = ctr()
    start_restricted_pod(c, ["--tmpfs", "/run:rw,U"])
    check_restricted_children(c)
    c.wait_for(lambda: c.exec("/usr/bin/usher", "status").returncode == 0, timeout=10, what="usher status to pass")
    r = c.exec("/usr/bin/usher", "status", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["ready"] is True, r
    stop_in_order(c)
