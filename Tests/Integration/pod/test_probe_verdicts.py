"""A probe's verdict is the kubelet's, and a rehearsal's probe proves something.

- An exec probe's command has its $(VAR) references expanded against the container's
  env, as the kubelet's prober does (pkg/kubelet/prober/prober.go runProbe,
  ExpandContainerCommandOnlyStatic); messages name the command as written.
- An httpGet probe judges what Go's client returns to the kubelet
  (pkg/probe/http/http.go DoHTTPProbe, RedirectChecker): same-host redirects followed (at most
  10 requests), another host's redirect a success, 1xx responses skipped, headers that never end
  a timeout.
- `rehearse --probe` at a URL that never answered before the stop signal fails."""
import json
import signal

import pytest

from helpers.podfile import LOOPBACK, container, exec_probe, free_port, http_probe, sidecar, tcp_probe, write_pod
from helpers.recorders import header, recorder, requests

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


# --- exec probes see $(VAR) ------------------------------------------------------------------------

@MODES
def test_exec_probes_have_their_var_references_expanded(usher, act, tmp_path, pid1):
    """A sidecar's startup probe `test -f $(READY_FILE)` passes when that file exists, so the
    main starts; the main's liveness probe `$(CHECKER) ...` runs the program CHECKER names (an
    actor that logs each run and exits 0), so the main is never restarted. Unexpanded, the
    startup probe never passes (the startup stays blocked) and the liveness probe restarts the
    main for ever."""
    ready = tmp_path / "ready"
    ready.write_text("")
    checker, *check_args = act("liveness-check", "--exit-after", 0)
    pod = write_pod(tmp_path, restartPolicy="Always",
                    init=[sidecar("side", act("side", "--code", 0), env=[{"name": "READY_FILE", "value": str(ready)}],
                                  startupProbe=exec_probe(["test", "-f", "$(READY_FILE)"], period=1, failures=30))],
                    containers=[container("regular-1", act("regular-1", "--code", 0), env=[{"name": "CHECKER", "value": checker}],
                                          livenessProbe=exec_probe(["$(CHECKER)", *check_args], period=1, failures=1))])
    u = usher(["-f", pod], pid1=pid1)
    u.wait_started("regular-1", timeout=10)
    u.wait_for(lambda: len(u.find("liveness-check", "exit")) >= 3, timeout=10, what="three runs of the liveness probe")
    failed = [t for t in u.log_texts() if "probe failed" in t]
    assert not failed, f"a probe failed: {failed}\n{u.stderr()}"
    assert len(u.find("regular-1", "start")) == 1, f"regular-1 was restarted:\n{u.stderr()}"
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 0, u.stderr()


def test_a_probe_s_messages_name_its_command_as_written(usher, act, tmp_path):
    """The expanded command never reaches the log: a liveness probe `$(CHECKER)` whose program
    does not exist fails with a message naming `$(CHECKER)`, not the value it stands for."""
    secret = str(tmp_path / "no-such-dir" / "s3cr3t-checker")
    pod = write_pod(tmp_path, restartPolicy="Never",
                    containers=[container("regular-1", act("regular-1", "--code", 0), env=[{"name": "CHECKER", "value": secret}],
                                          livenessProbe=exec_probe(["$(CHECKER)", "-v"], period=1, failures=1))])
    u = usher(["-f", pod])
    u.wait(timeout=20)  # restartPolicy Never: the failed probe's stop ends the pod
    failed = [t for t in u.log_texts() if "liveness probe failed" in t]
    assert failed and "command not found: $(CHECKER)" in failed[0], u.stderr()
    assert "s3cr3t" not in u.stderr(), u.stderr()


# --- httpGet verdicts --------------------------------------------------------------------------------

def raw(status_line, *headers):
    return {"raw": status_line + "\r\n" + "".join(h + "\r\n" for h in headers) + "Content-Length: 0\r\n\r\n"}


def moved(to, code="302 Found"):
    return raw(f"HTTP/1.1 {code}", f"Location: {to}")


OK = raw("HTTP/1.1 200 OK")
ANSWERS = {
    "/ok": OK,
    "/to-503": moved("/busy", "301 Moved Permanently"),
    "/busy": raw("HTTP/1.1 503 Service Unavailable"),
    "/loop": moved("/loop"),
    # A chain of n redirects, absolute and relative, to /ok.
    **{f"/chain/{n}": moved(f"http://127.0.0.1:{{port}}/chain/{n - 1}" if n % 2 else f"{n - 1}") for n in range(2, 11)},
    "/chain/1": moved("/ok", "307 Temporary Redirect"),
    "/elsewhere": moved("http://127.0.0.2:{port}/ok"),
    "/continue": {"raw": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
    "/endless": {"trickle": "HTTP/1.1 200 OK\r\n"},
}


def verdict_pod(tmp_path, act, events_log, port, path, more_init=()):
    """restartPolicy Never; a server sidecar answering ANSWERS (and `more_init`); the main's
    startup probe (one failure kills it) asks `path`."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    server = recorder("server", events_log, port, "--answers", answers, "--requests", tmp_path / "requests.jsonl")
    return write_pod(tmp_path, restartPolicy="Never",
                     init=[sidecar("server", server, startupProbe=tcp_probe(port, host=LOOPBACK, period=1, failures=30)),
                           *more_init],
                     containers=[container("regular-1", act("regular-1", "--code", 0),
                                           startupProbe=http_probe(port, path=path, host=LOOPBACK, period=1, failures=1,
                                                                   timeoutSeconds=2))])


def probe_verdict(u):
    """'passed', or the startup probe's failure detail; usher has exited either way (stopped by
    the test, or at the failure, as restartPolicy Never does not restart the main)."""
    said = lambda: [t for t in u.log_texts() if "regular-1[" in t and "startup probe" in t]  # noqa: E731
    u.wait_for(said, timeout=15, what="the main's startup probe verdict")
    text = said()[0]
    if "startup probe passed" in text:
        u.wait_started("regular-1")  # its SIGTERM handler is set: it exits 0 on SIGTERM, as asked
        u.signal(signal.SIGTERM)
        assert u.wait(timeout=20) == 0, u.stderr()
        return "passed"
    u.wait(timeout=20)
    return text.split("(last: ", 1)[1].rstrip(")")


@pytest.mark.parametrize("path,expected", [
    ("/to-503", "HTTP 503"),
    ("/loop", "stopped after 10 redirects"),
    ("/chain/9", "passed"),
    ("/chain/10", "stopped after 10 redirects"),
    ("/continue", "passed"),
    ("/endless", "timed out after 2s"),
])
def test_http_get_probe_verdicts_are_the_kubelet_s(usher, act, events_log, tmp_path, path, expected):
    """Go's client under DoHTTPProbe: a same-host redirect is followed and the final response
    judged (301 to a 503 fails; a loop fails once 10 requests were sent: 9 redirects then 200
    pass, 10 fail); `100 Continue` then `200` passes; a 200 whose headers never end fails at the
    probe's timeout. A verdict read from the first status line alone gets each of these wrong."""
    port = free_port()
    u = usher(["-f", verdict_pod(tmp_path, act, events_log, port, path)])
    assert probe_verdict(u) == expected
    asked = [r["path"] for r in requests(tmp_path / "requests.jsonl")]
    if path == "/loop":
        assert asked.count("/loop") == 10, asked
    if path == "/chain/9":
        assert asked == [f"/chain/{n}" for n in range(9, 0, -1)] + ["/ok"], asked


def test_a_followed_redirect_asks_the_same_host_again_as_go_does(usher, act, events_log, tmp_path):
    """Every hop is a new request with the probe's headers (kube-probe's User-Agent) and the
    Host of the URL it goes to; a relative Location resolves against the path asked."""
    port = free_port()
    u = usher(["-f", verdict_pod(tmp_path, act, events_log, port, "/chain/3")])
    assert probe_verdict(u) == "passed"
    got = requests(tmp_path / "requests.jsonl")
    assert [r["path"] for r in got] == ["/chain/3", "/chain/2", "/chain/1", "/ok"], got
    for r in got:
        assert header(r, "Host") == f"127.0.0.1:{port}" and header(r, "User-Agent") == "kube-probe/1.35", r


def test_a_redirect_to_another_host_is_a_success_and_not_followed(usher, act, events_log, tmp_path):
    """RedirectChecker: a Location on another host ends the chain with the redirect itself as
    the response, which the kubelet counts as a success (probe.Warning); nothing is sent there."""
    port = free_port()
    other = tmp_path / "other.jsonl"
    spy = sidecar("other", recorder("other", events_log, port, "--bind", "127.0.0.2", "--requests", other),
                  startupProbe=tcp_probe(port, host="127.0.0.2", period=1, failures=30))
    u = usher(["-f", verdict_pod(tmp_path, act, events_log, port, "/elsewhere", more_init=[spy])])
    assert probe_verdict(u) == "passed"
    assert [r["path"] for r in requests(tmp_path / "requests.jsonl")] == ["/elsewhere"]
    assert requests(other) == [], "the redirect to another host was followed"


# --- rehearse --probe that never got an answer ---------------------------------------------------------

def test_rehearse_probe_at_a_port_nobody_listens_on_fails(usher, act):
    """A rehearsal whose probe never got one answer before the stop signal proved nothing
    about dropped requests: it fails, and the report says why."""
    port = free_port()
    u = usher(["rehearse", "--after", "300ms", "--probe", f"http://127.0.0.1:{port}/",
               "--", *act("main", "--code", 0)], pid1=False, stdout_file=True)
    code = u.wait(timeout=30)
    out = u.stdout()
    assert code == 1, out
    line = next(l for l in out.splitlines() if l.startswith("probe http://127.0.0.1:"))
    assert "no answer before the stop signal (last: " in line and "refused)" in line.lower(), out
    assert f"probe http://127.0.0.1:{port}/ was never answered before the stop signal" in out.splitlines()[-1], out
