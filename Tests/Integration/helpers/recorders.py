"""argv of the kubelet-parity tests' recording server (recording_server.py), and its request logs."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDER = os.path.join(HERE, "recording_server.py")


def recorder(name, events_log, port, *opts):
    """argv of a recording_server that logs to the test's events file (see recording_server.py)."""
    return [sys.executable, RECORDER, name, "--log", events_log, "--port", str(port), *[str(o) for o in opts]]


def requests(path):
    """The requests a recording_server wrote to its --requests file, oldest first."""
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def header(request, name):
    """The value of header `name` (any case) in a recorded request, or None."""
    for n, v in request["headers"]:
        if n.lower() == name.lower():
            return v
    return None
