"""The C helper programs of the tests, each compiled once per test run (per pytest process) and
removed at its end: helpers/actor.c, hog.c, storm.c, privcheck.c, the benchmark's child.c, or
a source a test writes itself. Static when this machine can link static (start-up is cheap, and
a static program runs in a FROM scratch image), else dynamic."""
import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile

HELPERS = os.path.dirname(os.path.abspath(__file__))
_built = {}


def build_c(source, name=None, static=True):
    """The program built from `source`: a file name in helpers/ ("storm.c"), a path, or the C text
    itself (a string holding a newline). Returns its path; the same source is built once.
    static=True falls back to a dynamic link when the static one fails; "required" does not."""
    if "\n" in source:
        key = hashlib.sha256(source.encode()).hexdigest()[:12]
        name = name or "program-" + key
    else:
        source = source if os.path.isabs(source) else os.path.join(HELPERS, source)
        key = source
        name = name or os.path.splitext(os.path.basename(source))[0]
    if key not in _built:
        out = tempfile.mkdtemp(prefix=f"usher-{name}-")
        atexit.register(shutil.rmtree, out, True)
        path = os.path.join(out, name)
        src = source
        if "\n" in source:
            src = path + ".c"
            with open(src, "w") as f:
                f.write(source)
        flags = ["-O2", "-Wall", "-pthread", "-o", path, src]
        if static == "required":
            subprocess.run(["gcc", "-static", *flags], check=True)
        elif not static or subprocess.run(["gcc", "-static", *flags]).returncode != 0:
            subprocess.run(["gcc", *flags], check=True)
        _built[key] = path
    return _built[key]
