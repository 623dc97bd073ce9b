"""usher as the container engine's own init:
`podman run --init --init-path=<dist/usher> IMAGE CMD...` runs CMD under usher (podman
bind-mounts the init into the container and runs it as `<init> -- CMD...`), in an image that
holds no usher at all; `podman stop` stops it in order, and the exit status passes through.
USHER_* variables (-e) tune it as they would anywhere."""
import time

from helpers.engine import USHER


def run_init(c, *cmd, opts=()):
    c.run(*cmd, image=c.images.bare, entrypoint=None, opts=["--init", f"--init-path={USHER}", *opts])


def test_podman_init_runs_the_command_under_usher_as_pid_1(ctr):
    c = ctr()
    run_init(c, *c.actor("main", "--report"))
    c.wait_started("main")
    assert c.first("main", "ppid")[2] == "1", "the command should be a child of the init, PID 1"
    cmdline = c.exec("/bin/busybox", "cat", "/proc/1/cmdline").stdout.split("\0")
    assert cmdline[1:4] == ["--", "/actor", "main"], f"podman should run `<init> -- CMD...`: {cmdline}"
    # usher logs the start once spawn has returned, which can be after the child's first line.
    c.wait_for(lambda: any(l.startswith("actor[") and l.endswith("] started") for l in c.usher_lines()),
               what="usher's lifecycle log (without it, the init is not usher)")
    c.stop()
    assert c.exit_code() == 143
    lines = c.usher_lines()
    assert any(l.startswith("received SIGTERM, shutting down") for l in lines), lines
    assert lines[-1] == "exiting with status 143", lines


def test_podman_stop_runs_the_pre_stop_then_the_stop_signal_and_the_status_passes_through(ctr):
    c = ctr()
    run_init(c, *c.actor("main", "--linger", 200, "--code", 7), opts=["-e", "USHER_PRE_STOP=1s"])
    c.wait_started("main")
    asked = time.monotonic_ns()
    c.stop(seconds=20)
    assert c.exit_code() == 7
    term = int(c.first("main", "signal", "15")[3])
    assert (term - asked) / 1e6 >= 900, "the stop signal came before usher's preStop delay had passed"
    lines = c.usher_lines()
    order = [l.split("] ", 1)[1] if "] " in l else l for l in lines if l.startswith("actor[")]
    assert [o.split(" ")[0] for o in order[1:]] == ["preStop:", "stopping", "exited"], lines


def test_the_command_own_exit_status_passes_through(ctr):
    c = ctr()
    run_init(c, *c.actor("main", "--exit-after", 300, "--code", 3))
    assert c.exit_code() == 3
    assert c.usher_lines()[-1] == "exiting with status 3", c.logs()


def test_usher_deadline_under_podman_init_kills_before_the_engine(ctr):
    c = ctr()
    run_init(c, *c.actor("main", "--ignore", "TERM"), opts=["-e", "USHER_GRACE=1s"])
    c.wait_started("main")
    t = time.monotonic()
    c.stop(seconds=30)
    took = time.monotonic() - t
    assert c.exit_code() == 137
    assert took < 15, f"podman stop took {took:.1f}s: usher's 1s deadline should have ended it"
    assert any("SIGKILL" in l for l in c.usher_lines()), c.logs()
