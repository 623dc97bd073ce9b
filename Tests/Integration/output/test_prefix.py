"""--prefix: every line of every child's stdout and stderr, labelled with its name and aligned,
in order within each stream, none lost; coloured only on a terminal; off by default."""
import os
import re
import subprocess

from conftest import USHER

BURST = "i=0; while [ $i -lt 2000 ]; do echo \"$1 line $i\"; i=$((i+1)); done; echo \"$1 err\" >&2; printf \"$1 no-newline\""


def run(args, env=None, **kw):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([USHER, *args], capture_output=True, text=True, timeout=60, env=full, **kw)


def test_lines_are_labelled_aligned_complete_and_in_order():
    # The sidecar stays up after its burst (a sidecar that ends is restarted).
    r = run(["--prefix", "--sidecar", f"chatty=sh -c '{BURST}; exec sleep 5' x chatty",
             "--", "sh", "-c", BURST + "; sleep 0.2", "x", "main"])
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    for name, label in (("chatty", "chatty | "), ("main", "sh     | ")):
        lines = [l[len(label):] for l in out if l.startswith(label)]
        assert lines[:2000] == [f"{name} line {i}" for i in range(2000)], f"{name}: lost or reordered lines"
        assert lines[2000:] == [f"{name} no-newline"], "the unterminated last line must still come out"
        assert f"{label}{name} err" in r.stderr.splitlines(), "stderr lines go to stderr, labelled"
    assert len(out) == 4002
    assert "\x1b[" not in r.stdout, "no colour when the output is not a terminal"


def test_off_by_default_and_the_variable_turns_it_on():
    plain = run(["--", "sh", "-c", "echo hello"])
    assert plain.stdout == "hello\n"
    on = run(["--", "sh", "-c", "echo hello"], env={"USHER_PREFIX": "1"})
    assert on.stdout == "sh | hello\n"
    off = run(["--", "sh", "-c", "echo hello"], env={"USHER_PREFIX": "off"})
    assert off.stdout == "hello\n"
    bad = run(["--", "sh", "-c", "echo hello"], env={"USHER_PREFIX": "maybe"})
    assert bad.returncode == 2 and 'USHER_PREFIX: "maybe" is not a yes or no' in bad.stderr


def test_coloured_on_a_terminal():
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(USHER, [USHER, "--prefix", "--", "sh", "-c", "echo painted"])
    data = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    assert re.search(rb"\x1b\[36msh \| \x1b\[0mpainted", data), data
