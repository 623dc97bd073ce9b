"""With a terminal on stdin that usher has in the foreground (docker run -it), the main process
gets the terminal's foreground process group, so Ctrl-C reaches the app; usher in the background
of a terminal leaves it alone; without a terminal nothing is handed over."""
import os
import signal
import subprocess
import sys

import pytest

from conftest import USHER, controlling_terminal


@pytest.mark.parametrize("pid1", [False, True], ids=["direct", "pid1"])
def test_main_process_gets_the_terminal_and_ctrl_c(usher, act, pty, pid1):
    master, slave = pty
    u = usher(["--sidecar", "side=" + act.line("side", "--report"), "--", *act("main", "--report")],
              pid1=pid1, stdin=slave, preexec_fn=controlling_terminal(slave))
    u.wait_started("side", "main")
    main_pgid = u.first("main", "pgid")[2]
    assert main_pgid == str(u.first("main", "start")[4])
    assert u.first("main", "tty_fg")[2] == main_pgid, "the main process should own the terminal"
    assert u.first("side", "pgid")[2] != main_pgid
    # With a terminal, every child stays in usher's session (test_sessions.py has the rest).
    assert u.first("main", "sid")[2] == u.first("side", "sid")[2] == ("0" if pid1 else str(u.pid))
    os.write(master, b"\x03")  # Ctrl-C: SIGINT to the foreground group, the main process
    assert u.wait() == 128 + signal.SIGINT
    assert [e[2] for e in u.find("main", "signal")] == [str(int(signal.SIGINT))]
    assert [e[2] for e in u.find("side", "signal")] == [str(int(signal.SIGTERM))], \
        "the sidecar is not in the foreground: it is stopped by usher after the main process"


# Makes a session with the terminal and runs usher in it: in a background process group of
# its own ("bg", as `usher ... &` in an interactive shell), or in the foreground group ("fg").
SESSION = """
import fcntl, os, sys, termios
os.setsid()
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
background = sys.argv[1] == "bg"
pid = os.fork()
if pid == 0:
    if background:
        os.setpgid(0, 0)
    os.execv(sys.argv[2], sys.argv[2:])
if background:
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


@pytest.mark.parametrize("where", ["bg", "fg"])
def test_usher_in_the_background_leaves_the_terminal_alone(spawn, act, events_log, tmp_path, pty, where):
    _, slave = pty
    with open(tmp_path / "stderr", "w") as err:
        p = spawn([sys.executable, "-c", SESSION, where, USHER,
                   "--", *act("main", "--report", "--exit-after", 300)],
                  stdin=slave, stdout=subprocess.DEVNULL, stderr=err, start_new_session=False)
        assert p.wait(timeout=20) == 0, (tmp_path / "stderr").read_text()
    events = {e[1]: e[2] for e in (l.split(" ") for l in open(events_log).read().splitlines())}
    if where == "bg":
        assert events["tty_fg"] == str(p.pid), \
            f"the terminal should stay with the shell's group {p.pid}, got {events['tty_fg']}"
    else:  # the control: the same session with usher in front hands the terminal over
        assert events["tty_fg"] == events["pgid"]
    assert events["pgid"] != str(p.pid)


def test_without_a_terminal_nothing_is_handed_over(usher, act):
    u = usher(["--", *act("main", "--report", "--exit-after", 100)])
    assert u.wait() == 0
    assert u.first("main", "tty_fg")[2] == "-1"
    assert u.first("main", "pgid")[2] == str(u.first("main", "start")[4])
