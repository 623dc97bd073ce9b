"""Children start with default dispositions for every signal, even the ones libc keeps for itself
(32 and 33 on glibc, 32 to 34 on musl), when usher's own parent left them ignored: a parent that
is not a glibc program can, and SIG_IGN survives exec. (libc's sigaction refuses those signals,
so the release binary on musl, whose children all start through cusher_spawn_as, kept them
ignored in its children; found by test_lifecycle in CI.)"""
import os
import signal
import subprocess
import time

import pytest

from conftest import USHER
from helpers.podfile import container, write_pod
from helpers.programs import build_c

IGNORING_PARENT = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
/* ignoring-parent PROG ARG...: exec PROG with signals 32, 33 and 34 ignored (the raw system
   call: glibc's sigaction refuses them). */
int main(int argc, char **argv) {
    unsigned long ign[4] = {(unsigned long)SIG_IGN, 0, 0, 0};
    for (int s = 32; s <= 34; s++)
        if (syscall(SYS_rt_sigaction, s, ign, NULL, (size_t)8) != 0) return 126;
    (void)argc;
    execvp(argv[1], argv + 1);
    return 127;
}
"""


@pytest.fixture(scope="module")
def ignoring_parent():
    path = build_c(IGNORING_PARENT, name="ignoring-parent")
    # The helper itself works: its own child sees the three signals ignored.
    r = subprocess.run([path, "grep", "SigIgn", "/proc/self/status"], capture_output=True, text=True, check=True)
    assert int(r.stdout.split()[1], 16) & (0b111 << 31) == 0b111 << 31, r.stdout
    return path


def ignored_in_children(ignoring_parent, spawn, events_log, args):
    """Runs usher (as a subreaper, under the ignoring parent) until every actor has reported;
    returns {name: the SigIgn mask it inherited}."""
    p = spawn([ignoring_parent, USHER] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    masks = {}
    try:
        for _ in range(500):
            if os.path.exists(events_log):
                for line in open(events_log).read().splitlines():
                    parts = line.split(" ")
                    if len(parts) == 5 and parts[1] == "sigign":
                        masks[parts[0]] = int(parts[2], 16)
            if len(masks) == 2:
                break
            if p.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
    return masks


def test_a_sidecar_and_the_main_process_start_with_nothing_ignored(ignoring_parent, spawn, events_log, act):
    masks = ignored_in_children(ignoring_parent, spawn, events_log,
                                ["--sidecar", "side=" + act.line("side", "--report"), "--", *act("main", "--report")])
    assert masks == {"side": 0, "main": 0}, {k: hex(v) for k, v in masks.items()}


def test_a_container_with_a_working_directory_starts_with_nothing_ignored(ignoring_parent, spawn, events_log,
                                                                          act, tmp_path):
    """workingDir takes cusher_spawn_as (vfork) on glibc too."""
    pod = write_pod(tmp_path, init=[container("side", act("side", "--report"), restartPolicy="Always",
                                              workingDir=str(tmp_path))],
                    containers=[container("main", act("main", "--report"), workingDir="/")])
    masks = ignored_in_children(ignoring_parent, spawn, events_log, ["-f", pod])
    assert masks == {"side": 0, "main": 0}, {k: hex(v) for k, v in masks.items()}
