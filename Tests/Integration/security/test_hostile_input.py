"""Input that is not what usher's authors would type: bytes that are not UTF-8 in a program's path,
its arguments and the environment pass through unchanged; a value expanded from the environment is
never printed, even when the command it became cannot start; and nothing a program is called or
writes can forge or break a line of usher's log."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import LOG_LINE
from helpers.pipes import Drain
from helpers.podfile import container, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
RAW = os.fsdecode(b"\xff\xfe")        # not UTF-8 at all
LATIN1 = os.fsdecode(b"caf\xe9")      # "cafe" with an acute e, in Latin-1


def hexes(words):
    return [os.fsencode(w).hex() for w in words]


# --- bytes that are not UTF-8 --------------------------------------------------------------------

@MODES
def test_a_program_at_a_path_that_is_not_utf8_runs(usher, act, actor, tmp_path, pid1):
    """A copy of the actor in a directory named caf\\xe9 (Latin-1): it runs, as under tini, and
    usher exits with its status. Guards the regression where usher turned the byte into U+FFFD
    before exec and exited 127 (command not found)."""
    folder = tmp_path / LATIN1
    folder.mkdir()
    program = str(folder / "actor")
    shutil.copy(actor, program)
    argv = [program, *act("main", "--exit-after", 100, "--code", 3)[1:]]
    tini = shutil.which("tini-static") or shutil.which("tini")
    if tini:  # the control: the path is runnable
        assert subprocess.run([tini, "-s", "--", *argv], timeout=10).returncode == 3
    u = usher(["--", *argv], pid1=pid1)
    code = u.wait(timeout=10)
    assert code == 3, f"status {code}\n{u.stderr()}"
    assert len(u.find("main", "start")) == (2 if tini else 1)


@MODES
def test_arguments_that_are_not_utf8_reach_the_program_unchanged(usher, act, pid1):
    """The main's and a sidecar's arguments hold \\xff\\xfe and caf\\xe9; each program logs its
    argv in hex: every byte is as given. Guards the regression where each invalid byte
    arrived as U+FFFD (ef bf bd)."""
    main = act("main", "--argv-hex", "--tag", RAW, "--tag", LATIN1)
    side = act("side", "--argv-hex", "--tag", RAW, "--tag", LATIN1)
    u = usher(["--sidecar", "side=" + act.line("side", "--argv-hex", "--tag", RAW, "--tag", LATIN1), "--", *main],
              pid1=pid1)
    u.wait_started("side", "main")
    for name, argv in (("main", main), ("side", side)):
        got = u.first(name, "argv")[2].split(",")
        assert got == hexes(argv[1:]), f"{name}: argv arrived as {got}, sent {hexes(argv[1:])}"
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@MODES
@pytest.mark.parametrize("how", ["flags", "pod-env"])
def test_an_environment_value_that_is_not_utf8_reaches_the_child_unchanged(usher, act, tmp_path, how, pid1):
    """usher's environment holds ODD=\\xff\\xfe and PLAIN=plain. Started from the command line
    (no variables of its own) or from a pod file whose container sets SET=from-pod, the main
    gets ODD's bytes unchanged, PLAIN too, and SET where the pod sets it. Guards the regression
    where the pod's `env` made usher rebuild the environment, and ODD arrived as U+FFFD twice."""
    report = ["--env-hex", "ODD", "--env-hex", "PLAIN", "--env-hex", "SET"]
    if how == "flags":
        u = usher(["--", *act("main", *report)], pid1=pid1, env={"ODD": RAW, "PLAIN": "plain"})
    else:
        pod = write_pod(tmp_path, containers=[container("main", act("main", *report),
                                                        env=[{"name": "SET", "value": "from-pod"}])])
        u = usher(["-f", pod], pid1=pid1, env={"ODD": RAW, "PLAIN": "plain"})
    u.wait_started("main")
    got = dict(e[2].split("=", 1) for e in u.find("main", "envhex"))
    assert got["ODD"] == "fffe", f"ODD arrived as {got['ODD']}"
    assert got["PLAIN"] == b"plain".hex(), got
    assert got["SET"] == (b"from-pod".hex() if how == "pod-env" else "-"), got
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


# --- an expanded value in a command that cannot start ----------------------------------------

SECRET = "nonexistent-secret-value"


def secret_pod(tmp_path):
    return write_pod(tmp_path, containers=[container("app", ["$(SECRET_CMD)", "arg"],
                                                     env=[{"name": "SECRET_CMD", "value": "/" + SECRET}])])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_expanded_command_is_not_printed_when_it_cannot_start(usher, tmp_path, fmt):
    """`command: ["$(SECRET_CMD)"]` with SECRET_CMD from the container's env, naming no program:
    usher exits 127 and names the container, but the value never appears, in the text log or
    the JSON log. The regression guarded: "app could not be started: command not found:
    /nonexistent-secret-value"."""
    u = usher(["--log-format", fmt, "-f", secret_pod(tmp_path)])
    code = u.wait(timeout=10)
    err = u.stderr()
    assert code == 127, f"status {code}\n{err}"
    assert SECRET not in err, f"the environment value leaked into the log:\n{err}"
    assert "app" in err, "the log should still say which container could not start"
    if fmt == "json":
        for line in err.splitlines():
            json.loads(line)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_expanded_command_is_not_printed_in_a_rehearsal_report(usher, tmp_path, fmt):
    """The same pod rehearsed: the report (stdout) and the log (stderr) name the container and
    its failure, never the value; the rehearsal fails."""
    u = usher(["rehearse", "--format", fmt, "-f", secret_pod(tmp_path)], pid1=False, stdout_file=True)
    code = u.wait(timeout=10)
    out, err = u.stdout(), u.stderr()
    assert code != 0, out
    assert "app" in out, out
    assert SECRET not in out, f"the environment value leaked into the report:\n{out}"
    assert SECRET not in err, f"the environment value leaked into the log:\n{err}"
    if fmt == "json":
        assert json.loads(out)["passed"] is False


# --- the log stays well formed -------------------------------------------------------------------

@MODES
def test_the_dropped_lines_notice_is_json_in_json_mode(usher, act, pid1):
    """usher's stderr is a pipe that the test fills (with JSON lines of its own) before usher
    starts and does not read at first. usher is then made to log a great many lines (600 stop
    requests while its shutdown is under way: "received SIGTERM again", about 100 KB of JSON),
    more than any bounded log queue keeps, so lines are dropped. Then the test reads the pipe,
    and the next lines usher writes come with the notice that lines were dropped. In JSON mode
    every line of the stream is a JSON object, the notice too. Guards the regression where the
    notice was plain text: "usher: N log line(s) dropped: stderr was not being read"."""
    r, w = os.pipe()
    filler = os.open(f"/proc/self/fd/{w}", os.O_WRONLY | os.O_NONBLOCK)  # its own open file: usher's stays blocking
    n = 0
    try:
        while True:
            os.write(filler, json.dumps({"filler": n}).encode() + b"\n")
            n += 1
    except BlockingIOError:
        pass
    os.close(filler)
    try:
        u = usher(["--log-format", "json", "--", *act("main", "--linger", 3000)], pid1=pid1, stderr=w)
    finally:
        os.close(w)
    try:
        u.wait_started("main")
        u.signal(signal.SIGTERM)
        u.wait_for(lambda: u.find("main", "signal", "15"), what="the main's stop signal")
        for _ in range(600):  # each one a log line, while the pipe is full
            u.signal(signal.SIGTERM)
            time.sleep(0.001)
        reader = Drain(r)  # the main exits 3 s after its signal: that line comes after the notice
        assert u.wait(timeout=15) == 143
        lines = reader.lines()
    finally:
        os.close(r)
    bad = []
    objects = []
    for line in lines:
        try:
            objects.append(json.loads(line))
        except ValueError:
            bad.append(line)
    assert not bad, f"{len(bad)} lines that are not JSON, the first: {bad[:3]}"
    assert [o["filler"] for o in objects if "filler" in o] == list(range(n)), "the test's own lines were damaged"
    notices = [o for o in objects if "filler" not in o and "dropped" in json.dumps(o)]
    assert notices, f"no notice of dropped lines among {len(objects) - n} lines of usher's"
    assert objects[-1].get("event") == "exiting", objects[-1]


@MODES
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_newline_in_a_program_name_does_not_forge_a_log_line(usher, act, actor, tmp_path, fmt, pid1):
    """The main is a symlink to the actor named "a<newline>b": usher names the process after
    it, and every line of its log is still one whole line (text: a timestamp and "usher: ";
    JSON: an object). Guards the regression where the text log wrote the newline as it was,
    and "b[4] started" began a line of its own."""
    link = tmp_path / "a\nb"
    link.symlink_to(actor)
    u = usher(["--log-format", fmt, "--", str(link), *act("main", "--exit-after", 100, "--code", 0)[1:]], pid1=pid1)
    assert u.wait(timeout=10) == 0
    lines = u.stderr().splitlines()
    assert len(lines) == 3, lines  # started, exited, exiting
    for line in lines:
        if fmt == "text":
            assert LOG_LINE.match(line), f"a line that is not usher's: {line!r}\n{lines}"
        else:
            json.loads(line)
