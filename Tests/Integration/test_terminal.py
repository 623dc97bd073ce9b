"""With a terminal on stdin that usher has in the foreground (docker run -it), the main process
gets the terminal's foreground process group, so Ctrl-C reaches the app."""
import fcntl
import os
import signal
import termios

from conftest import Usher


def _controlling_terminal(slave):
    def setup():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    return setup


def test_main_process_gets_the_terminal_and_ctrl_c(usher, act, events_log):
    master, slave = os.openpty()
    try:
        u = usher(["--sidecar", "side=" + act.line("side", "--report"), "--", *act("main", "--report")],
                  pid1=False, stdin=slave, preexec_fn=_controlling_terminal(slave))
        u.wait_started("side", "main")
        main_pgid = u.first("main", "pgid")[2]
        assert u.first("main", "tty_fg")[2] == main_pgid, "the main process should own the terminal"
        assert u.first("side", "tty_fg")[2] == main_pgid, "a sidecar sees the main's group in front"
        os.write(master, b"\x03")  # Ctrl-C: SIGINT to the foreground group, the main process
        assert u.wait() == 128 + signal.SIGINT
        assert u.first("main", "signal")[2] == str(int(signal.SIGINT))
        assert u.first("side", "signal")[2] == str(int(signal.SIGTERM)), "the sidecar is stopped after"
    finally:
        os.close(master)
        os.close(slave)


def test_without_a_terminal_nothing_is_handed_over(usher, act):
    u = usher(["--", *act("main", "--report", "--exit-after", 100)])
    assert u.wait() == 0
    assert u.first("main", "tty_fg")[2] == "-1"
