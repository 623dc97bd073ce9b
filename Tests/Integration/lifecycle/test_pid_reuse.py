"""Pid reuse: a pid that usher has reaped is given to the next process it starts, and usher must
credit that process's exit to it, not to the one that had the number before (the regression guarded:
`pids.firstIndex(of:)` found the dead one first, and the shutdown hung).

usher is PID 1 of its own pid namespace, where the next pid is under the test's control: an
actor about to exit writes (some pid - 1) to /proc/sys/kernel/ns_last_pid (`--give-pid-of`), so
the next process made in the namespace gets that pid once it is free. (In production this takes
the pid counter wrapping, as it does in long-running pods with busy shells; a small namespace
pid_max, Linux 6.14 and later, gets there too, but less precisely.) Only as PID 1: the host's
pid counter is shared with everything else on the machine."""
import signal
import subprocess
import time

import pytest

from conftest import ms
from helpers.podfile import container, exec_probe, pre_stop_exec, write_pod
from helpers.reliability import wait_until


@pytest.fixture(scope="module", autouse=True)
def ns_last_pid_writable():
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
                        "echo 10 > /proc/sys/kernel/ns_last_pid && sh -c 'echo $$'"],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0 or r.stdout.strip() != "11":
        pytest.skip(f"cannot choose the next pid in a new pid namespace here "
                    f"(/proc/sys/kernel/ns_last_pid: {r.stderr.strip() or r.stdout.strip()})")


def wait_or_hang(u, timeout, what):
    """usher's status, or a failure that says what it was still waiting for."""
    try:
        return u.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kids = u.children_states()
        raise AssertionError(f"usher still running {timeout} s after {what}, with "
                             f"{len(kids)} children {kids}\nlog:\n" + "\n".join(u.log_texts())) from None


def test_a_pre_stop_hook_that_gets_the_dead_mains_pid(usher, act, tmp_path):
    """Two main containers: job exits (status 5) and hands its pid on; web's preStop exec hook,
    started by the shutdown that job's exit begins, gets job's pid. The hook's exit is the
    hook's: web gets its stop signal after it, and usher exits with job's status well before
    the 4 s deadline. Guards the regression where the hook's exit was credited to job (already
    exited, so ignored): web never got its stop signal, the deadline killed it, and usher
    waited for a hook that was gone, with no children left, for ever."""
    pod = write_pod(tmp_path, terminationGracePeriodSeconds=4, containers=[
        container("job", act("job", "--exit-after", 600, "--code", 5, "--give-pid-of", "job")),
        container("web", act("web"), lifecycle=pre_stop_exec(act("hook", "--exit-after", 300, "--code", 0)))])
    u = usher(["-f", pod])
    u.wait_started("job", "web")
    u.wait_for(lambda: u.find("hook", "start"), what="web's preStop hook")
    job_pid, hook_pid = u.first("job", "start")[4], u.first("hook", "start")[4]
    assert u.first("job", "gave")[2] == str(job_pid)
    assert hook_pid == job_pid, f"setup: the hook got pid {hook_pid}, not the dead job's {job_pid}"
    code = wait_or_hang(u, 8, "job's exit (terminationGracePeriodSeconds: 4)")
    job_exit = u.first("job", "exit")
    assert code == 5, f"status {code}: job exited first with 5"
    assert ms(u.ended_at - job_exit[3]) < 3000, "usher did not finish the shutdown before the deadline"
    web_sig = u.first("web", "signal", "15")
    assert web_sig[3] >= u.first("hook", "exit")[3], "web's stop signal came before its hook had exited"
    texts = u.log_texts()
    assert any(t.startswith(f"web preStop: hook[{hook_pid}] exited with status 0") for t in texts), texts
    assert not any("still running at the deadline" in t for t in texts), texts


def test_a_restarted_sidecar_that_gets_another_sidecars_old_pid(usher, act):
    """Sidecar a exits at once twice and waits out its 10 s back-off, its last pid reaped. Then
    sidecar b exits (after 1.5 s) and its restart gets a's old pid. When that run of b exits in
    turn, it is b's exit: b is scheduled for a restart again; and SIGTERM then stops the pod at
    once (the main, nothing else running). Guards the regression where b's second exit was
    credited to a (waiting for its restart, so ignored): b was never restarted, usher believed
    it still ran, and the shutdown waited for it past the deadline, for ever."""
    u = usher(["--grace", "4s",
               "--sidecar", "a=" + act.line("a", "--exit-after", 0, "--code", 1),
               "--sidecar", "b=" + act.line("b", "--exit-after", 1500, "--code", 1, "--give-pid-of", "a"),
               "--", *act("main")])
    u.wait_started("a", "b", "main")
    u.wait_for(lambda: len(u.find("b", "exit")) >= 2, timeout=10, what="b to exit twice")
    a_last = u.find("a", "start")[-1][4]
    b_second = u.find("b", "start")[1][4]
    assert len(u.find("a", "start")) == 2, "a should be waiting out its back-off"
    assert b_second == a_last, f"setup: b's restart got pid {b_second}, not a's old {a_last}"
    problems = []
    if not wait_until(lambda: "b will be restarted in 10s (restart 2, back-off)" in u.log_texts(), 3):
        problems.append("b's second exit was not credited to b: no restart was scheduled for it")
    sent = u.signal(signal.SIGTERM)
    try:
        code = u.wait(timeout=8)
        if code != 143:
            problems.append(f"status {code}, not 143")
        if ms(u.ended_at - sent) >= 3000:
            problems.append(f"the shutdown took {ms(u.ended_at - sent):.0f} ms")
    except subprocess.TimeoutExpired:
        problems.append(f"usher still running 8 s after SIGTERM (--grace 4s), with children {u.children_states()}")
    if any("still running at the deadline" in t for t in u.log_texts()):
        problems.append("usher waited for the deadline")
    assert not problems, "\n".join(problems) + "\nlog:\n" + "\n".join(u.log_texts())


def test_an_exec_probe_that_gets_a_reaped_processs_pid(usher, act, tmp_path):
    """An init container runs and exits; the main's exec liveness probe (every second, one
    failure is enough) hands the init container's pid on, so every later run of the probe
    command gets it. Each of those runs exits 0, and that is the probe's result: the probe
    keeps passing and the main keeps running. Guards the regression where the command's exit
    was credited to the init container (ignored), the probe timed out, and the liveness
    failure shut the pod down."""
    probe = exec_probe(act("probe", "--exit-after", 0, "--code", 0, "--give-pid-of", "init"), period=1, failures=1,
                       timeoutSeconds=1)
    pod = write_pod(tmp_path, init=[container("init", act("init", "--exit-after", 0, "--code", 0))],
                    containers=[container("web", act("web"), livenessProbe=probe)])
    u = usher(["-f", pod])
    u.wait_started("init", "web")
    init_pid = u.first("init", "start")[4]
    u.wait_for(lambda: len([e for e in u.find("probe", "start") if e[4] == init_pid]) >= 3, timeout=10,
               what="three probe runs with the init container's old pid")
    time.sleep(1.5)  # a probe run timed out by now if its exit went astray
    texts = u.log_texts()
    assert u.running(), f"usher ended ({u.proc.poll()}):\n" + "\n".join(texts)
    assert not any("probe failed" in t or "liveness" in t for t in texts), "\n".join(texts)
    assert not u.find("web", "signal"), "the main was stopped"
    sent = u.signal(signal.SIGTERM)
    assert wait_or_hang(u, 8, "SIGTERM") == 143
    assert ms(u.ended_at - sent) < 3000
