"""usher in a real container engine: podman with runc (../shared/container-env.sh sets it up).
The image is the one users build, images/Dockerfile.local, plus the static actor helper, which
plays the app and the sidecars and writes its events to a mounted folder (helpers/engine.py's
`dockerfile` images, tagged for this run only). If podman cannot run a container here, these
tests fail and say so; they never skip."""
import os
import signal
import subprocess
import time

from helpers.engine import podman, unique_name


def sidecars(c, *opts):
    return ["--sidecar", "a=" + c.actor_line("a", *opts), "--sidecar", "b=" + c.actor_line("b", *opts)]


def test_podman_stop_runs_the_ordered_shutdown_and_keeps_the_main_status(ctr, dockerfile):
    c = ctr(dockerfile.actor)
    c.run(*sidecars(c, "--linger", 100), "--", *c.actor("main", "--linger", 100, "--code", 7))
    c.wait_for(lambda: all(c.find(n, "start") for n in "ab") and c.find("main", "start"), what="start")
    podman("stop", "-t", "10", c.name)
    assert c.exit_code() == 7
    main_exit, b_sig, b_exit, a_sig = (c.first("main", "exit"), c.first("b", "signal", "15"),
                                       c.first("b", "exit"), c.first("a", "signal", "15"))
    assert int(main_exit[3]) <= int(b_sig[3]) and int(b_exit[3]) <= int(a_sig[3])


def test_usher_is_pid1_without_init_and_forwards_podman_kill(ctr, dockerfile):
    c = ctr(dockerfile.actor)
    c.run("--", *c.actor("main", "--report"))
    c.wait_for(lambda: c.find("main", "start"), what="start")
    assert c.first("main", "ppid")[2] == "1", "usher should be PID 1, with no --init"
    podman("kill", "--signal", "SIGHUP", c.name)
    podman("kill", "--signal", "USR1", c.name)
    c.wait_for(lambda: c.find("main", "signal", "1") and c.find("main", "signal", "10"), what="forwarded signals")
    assert podman("inspect", "-f", "{{.State.Running}}", c.name).stdout.strip() == "true"
    podman("stop", "-t", "10", c.name)
    assert c.exit_code() == 143


def test_the_container_stops_when_the_main_process_exits(ctr, dockerfile):
    c = ctr(dockerfile.actor)
    c.run(*sidecars(c), "--", *c.actor("main", "--exit-after", 300, "--code", 3))
    assert c.exit_code() == 3
    # Containers share the host's CLOCK_MONOTONIC: the actor's timestamps compare with ours.
    gone = time.monotonic_ns()
    assert (gone - int(c.first("main", "exit")[3])) / 1e9 < 3, "the container did not stop promptly"
    b_sig, b_exit, a_sig = c.first("b", "signal", "15"), c.first("b", "exit"), c.first("a", "signal", "15")
    assert int(b_sig[3]) >= int(c.first("main", "exit")[3]) and int(a_sig[3]) >= int(b_exit[3])


def test_an_app_ignoring_sigterm_is_killed_at_usher_deadline_before_the_engines(ctr, dockerfile):
    c = ctr(dockerfile.actor)
    c.run("--grace", "1s", "--", *c.actor("main", "--ignore", "TERM"))
    c.wait_for(lambda: c.find("main", "start"), what="start")
    t = time.monotonic()
    podman("stop", "-t", "20", c.name)  # the engine would SIGKILL after 20 s
    took = time.monotonic() - t
    assert c.exit_code() == 137
    assert took < 10, f"podman stop took {took:.1f}s: usher's 1s deadline should have ended it"
    assert "still running at the deadline: SIGKILL" in c.logs()


def test_podman_logs_shows_the_lifecycle_log(ctr, dockerfile):
    c = ctr(dockerfile.actor)
    c.run("--sidecar", "proxy=" + c.actor_line("proxy"), "--", *c.actor("main"))
    c.wait_for(lambda: c.find("proxy", "start") and c.find("main", "start"), what="start")
    podman("stop", "-t", "10", c.name)
    c.exit_code()
    logs = c.logs()
    for text in ("proxy[", "] started", "received SIGTERM, shutting down", "actor[", "stopping with SIGTERM",
                 "exiting with status 143"):
        assert text in logs, logs


def test_interactive_terminal_ctrl_c_reaches_the_app(dockerfile, tmp_path):
    """podman run -it under a pseudo-terminal: the app is in the terminal's foreground group, so
    Ctrl-C (SIGINT from the terminal) reaches it and the container exits 130."""
    import pty
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    os.chmod(log_dir, 0o777)
    name = unique_name("tty")
    # The image's ENTRYPOINT is `usher --`: the command follows the image name, as CMD would.
    argv = ["podman", "run", "-it", "--name", name, "-v", f"{log_dir}:/log", dockerfile.actor,
            "/actor", "main", "--log", "/log/events.log", "--report"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    try:
        log = log_dir / "events.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and " start " not in (log.read_text() if log.exists() else ""):
            time.sleep(0.05)
        assert log.exists(), "the container did not start its main process"
        events = [l.split(" ") for l in log.read_text().splitlines()]
        pgid = next(e[2] for e in events if e[1] == "pgid")
        assert next(e[2] for e in events if e[1] == "tty_fg") == pgid, events
        os.write(fd, b"\x03")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and " exit " not in log.read_text():
            time.sleep(0.05)
        assert any(e[1] == "signal" and e[2] == str(int(signal.SIGINT)) for e in
                   (l.split(" ") for l in log.read_text().splitlines())), log.read_text()
        code = int(podman("wait", name, timeout=60).stdout.strip())
        assert code == 128 + signal.SIGINT
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
        try:
            os.close(fd)
            os.waitpid(pid, 0)
        except OSError:
            pass


def test_the_example_image_shuts_down_in_order(example_image):
    image = example_image("sidecars-by-flags")
    name = unique_name("demo")
    try:
        podman("run", "-d", "--name", name, image)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "app: serving" not in podman("logs", name).stdout:
            time.sleep(0.05)
        podman("stop", "-t", "15", name)
        assert int(podman("wait", name).stdout.strip()) == 0
        r = podman("logs", name)
        usher_lines = [l.split(" usher: ")[1] for l in r.stderr.splitlines() if " usher: " in l]
        stops = [l.split("[")[0] for l in usher_lines if "stopping with SIGTERM" in l]
        assert stops == ["app.sh", "proxy", "log-shipper"], usher_lines
        assert any(l.startswith("app.sh[") and l.endswith("] preStop: waiting 500ms before its stop signal") for l in usher_lines), usher_lines
        assert "app: drained, bye" in r.stdout
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
