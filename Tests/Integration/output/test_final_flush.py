"""--prefix at usher's exit: the final flush copies what the children's pipes hold when it begins,
and no more. A daemon the main left behind (in a session of its own, holding the inherited stdout
pipe) that writes without pause keeps that pipe non-empty for ever; usher must still exit within its
1 s bound for the final flush, as tini, dumb-init and catatonit do (about 0.5 s in the same
setup)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import ms
from helpers.proc import alive, state
from helpers.reliability import wait_until

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])

# The daemon makes its stdout pipe 1 MiB (F_SETPIPE_SZ) and writes to it without pause, 20 KiB
# a write, far faster than usher labels and copies it: the pipe is never empty. It says it is
# writing (READY) once its first writes are in the pipe.
DAEMON = """
import fcntl, os
try:
    fcntl.fcntl(1, 1031, 1 << 20)
except OSError:
    pass
open("daemon.pid", "w").write(str(os.getpid()))
chunk = b"spam\\n" * 4096
for _ in range(4):
    os.write(1, chunk)
open("READY", "w").close()
while True:
    os.write(1, chunk)
"""


@MODES
def test_a_daemon_writing_without_pause_does_not_keep_usher_from_exiting(usher, tmp_path, pid1):
    """The main starts the daemon with setsid (it outlives the main, holding the main's stdout
    pipe), waits until the daemon is writing and exits 0. usher exits with 0 within 3 s of that
    (the 1 s bound plus a margin). The regression: the final flush read each pipe until it was
    empty, checking its bound only between passes, so usher stayed in that read loop for as long
    as the daemon wrote (state R, for ever)."""
    (tmp_path / "daemon.py").write_text(DAEMON)
    main = "setsid python3 daemon.py & while [ ! -e READY ]; do sleep 0.01; done; exit 0"
    u = usher(["--prefix", "--", "sh", "-c", main], pid1=pid1, cwd=str(tmp_path))  # stdout: /dev/null
    daemon = None
    try:
        assert wait_until(lambda: (tmp_path / "READY").exists(), 10), f"the daemon never wrote\n{u.stderr()}"
        ready = time.monotonic_ns()
        daemon = int((tmp_path / "daemon.pid").read_text())
        try:
            code = u.wait(timeout=8)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"usher still running 8 s after the main exited (state {state(u.pid)})"
                                 f"\nstderr:\n{u.stderr()}")
        assert code == 0, u.stderr()
        took = ms(u.ended_at - ready)
        assert took < 3000, f"usher exited {took:.0f} ms after the main, past its 1 s bound\n{u.stderr()}"
    finally:
        # As PID 1 the daemon ends with the namespace; as a subreaper it is reparented upwards.
        if daemon is not None and not pid1 and alive(daemon):
            os.kill(daemon, signal.SIGKILL)

