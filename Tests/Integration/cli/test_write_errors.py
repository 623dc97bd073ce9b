"""What usher prints on stdout must reach it, or usher says so: with stdout on /dev/full (every
write fails with ENOSPC), `usher check`, `--help`, `--version` and a rehearsal's report exit
non-zero with a message on stderr. The regression guarded: they all exited 0, and a CI job would
take an empty plan or report for a pass."""
import re
import subprocess

import pytest

from conftest import USHER

# What a message about the failed write could say, in any words.
ABOUT_THE_WRITE = re.compile(r"stdout|standard output|write|report|no space", re.IGNORECASE)


def to_full(args, timeout=30):
    with open("/dev/full", "w") as full:
        return subprocess.run([USHER, *args], stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)


@pytest.mark.parametrize("args", [["check", "--", "true"], ["--help"], ["--version"]], ids=["check", "help", "version"])
def test_output_that_cannot_be_written_is_an_error(args):
    r = to_full(args)
    assert r.returncode != 0, f"usher {' '.join(args)} > /dev/full exited 0"
    assert r.stderr.strip(), "no message on stderr"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_rehearsal_report_that_cannot_be_written_is_an_error(act, fmt):
    """The rehearsal itself passes (the app stops cleanly), but its report is lost: usher exits
    non-zero and says so on stderr, beside its lifecycle log."""
    r = to_full(["rehearse", "--after", "200ms", "--format", fmt, "--", *act("main", "--code", 0)])
    assert r.returncode != 0, f"the report went nowhere and usher exited 0\nstderr:\n{r.stderr}"
    # (No line of the lifecycle log of this run says any of those words.)
    assert any(ABOUT_THE_WRITE.search(l) for l in r.stderr.splitlines()), f"no message about the lost report:\n{r.stderr}"
