"""Storms: tens of thousands of signals of mixed kinds sent to usher from several processes and
threads while children start and exit, and thousands of orphans and zombies. usher must not
crash, must not lose the stop request, must forward what POSIX would deliver, and must leave no
zombie behind. The numbers each run reaches are printed (pytest -s shows them).

Forwarding, as POSIX delivers signals: a standard signal coalesces while it is pending (at usher
as at the main process), so what can be asserted is that each kind sent reaches the main process
at least once after its last send, and that the main process never gets a signal nobody sent. A
real-time signal queues, one for one: every one sent must arrive. The senders keep the queued
signals of the user well under RLIMIT_SIGPENDING (beyond it, the kernel itself turns a kill()
of a real-time signal into a coalescing one), so a loss would be usher's."""
import os
import signal
import time

import pytest

from conftest import ms
from helpers.proc import alive, pgid_members
from helpers.reliability import (kib, merge_sent, read_received, read_sent,
                                 status_field, storm, wait_until)  # noqa: F401 - storm is a fixture

STANDARD = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH]
REALTIME = [34, 35, 40, 50, 64]  # SIGRTMIN (glibc's: 32 and 33 are its own), +1, +6, +16, SIGRTMAX
MIX = [int(s) for s in STANDARD] + REALTIME


def senders(spawn, storm, pid, tmp_path, procs=2, threads=3, count=8000, signals=MIX, tag="s"):
    """Starts `procs` sender processes of `threads` threads, each thread sending `count` signals;
    returns [(process, result path)]."""
    out = []
    for k in range(procs):
        path = tmp_path / f"{tag}{k}.sent"
        p = spawn([storm, "send", str(pid), "--threads", str(threads), "--count", str(count),
                   "--signals", ",".join(str(s) for s in signals), "--out", str(path)])
        out.append((p, path))
    return out


def finish(sending, timeout=60):
    for p, _ in sending:
        assert p.wait(timeout=timeout) == 0
    return merge_sent([read_sent(path) for _, path in sending])


def pod_args(act, storm, status, main_opts=()):
    """A steady sidecar, a crash-looping one (restarted at once, then after 10s), and the counting
    main process forking a child every 500us, every 4th an orphan that usher must reap."""
    return ["--grace", "5s",
            "--sidecar", "steady=" + act.line("steady"),
            "--sidecar", "crashy=" + act.line("crashy", "--exit-after", 0, "--code", 3),
            "--", storm, "main", "--out", str(status), "--fork-every-us", "500", "--orphan-every", "4",
            *main_opts]


def test_a_storm_of_mixed_signals_is_forwarded_as_posix_delivers_it(usher, act, storm, spawn, tmp_path):
    status = tmp_path / "main.status"
    u = usher(pod_args(act, storm, status))
    u.wait_started("steady", "crashy")
    assert wait_until(lambda: read_received(status) is not None, 10)
    rss_before = kib(u.pid, "VmRSS")
    t0 = time.monotonic()
    sent = finish(senders(spawn, storm, u.pid, tmp_path))
    sending_s = time.monotonic() - t0
    assert not sent["stopped_early"] and u.running(), f"usher died in the storm:\n{u.stderr()}"
    assert sent["total"] == 2 * 3 * 8000

    def caught_up():
        got = read_received(status)["recv"]
        rt_done = all(got.get(s, (0,))[0] >= sent["sent"][s][0] for s in REALTIME)
        std_done = all(got.get(int(s), (0, 0))[1] > sent["sent"][int(s)][1] for s in STANDARD)
        return rt_done and std_done
    wait_until(caught_up, 20, interval=0.1)
    time.sleep(0.3)  # anything more (a signal nobody sent) would show now
    got = read_received(status)
    recv = got["recv"]
    hwm, threads = kib(u.pid, "VmHWM"), status_field(u.pid, "Threads")
    forwarded = sum(c for c, _, _ in recv.values())
    print(f"\nstorm: {sent['total']} signals in {sending_s:.2f}s ({sent['total'] / sending_s:.0f}/s) "
          f"from 2 processes x 3 threads; max queued (SigQ) {sent['max_sigq']}; the main received "
          f"{forwarded}: " + ", ".join(f"{s}: {recv.get(s, (0,))[0]}/{sent['sent'][s][0]}" for s in MIX) +
          f"; usher VmRSS {rss_before} KiB before, VmHWM {hwm} KiB; main forked {got['forks']} "
          f"children, {got['orphans']} of them orphans")

    assert u.running(), f"usher died:\n{u.stderr()}"
    assert threads == "1", f"usher must stay single-threaded, has {threads} threads"
    assert set(recv) <= set(sent["sent"]), f"the main got signals nobody sent: {set(recv) - set(sent['sent'])}"
    assert all(foreign == 0 for _, _, foreign in recv.values()), f"signals from another sender than usher: {recv}"
    for s in STANDARD:
        count, last_recv, _ = recv.get(int(s), (0, 0, 0))
        assert 1 <= count <= sent["sent"][int(s)][0], (s.name, count)
        assert last_recv > sent["sent"][int(s)][1], \
            f"{s.name}: its last send was lost (the main's last one came {ms(last_recv - sent['sent'][int(s)][1]):.1f} ms after it)"
    lost = {s: sent["sent"][s][0] - recv.get(s, (0,))[0] for s in REALTIME}
    assert all(v == 0 for v in lost.values()), f"real-time signals lost (sent - received): {lost}"
    assert hwm < 16 * 1024, f"usher's peak RSS {hwm} KiB"

    # The crash-looping sidecar came back at once, then waits its back-off; nothing else changed.
    assert len(u.find("crashy", "start")) >= 2, u.find("crashy", "start")
    assert "crashy will be restarted in 10s (restart 2, back-off)" in u.log_texts()
    sent_at = u.signal(signal.SIGTERM)
    assert u.wait(timeout=20) == 143
    texts = u.log_texts()
    main_exit = next(i for i, t in enumerate(texts) if t.startswith("storm[") and " exited " in t)
    steady_stop = next(i for i, t in enumerate(texts) if t.startswith("steady[") and " stopping " in t)
    assert main_exit < steady_stop, texts
    assert ms(u.ended_at - sent_at) < 5000, "the shutdown ran into the deadline"
    assert [e[2] for e in u.find("steady", "signal")] == ["15"], "a sidecar got a forwarded signal"


def stop_in_storm(u, spawn, storm, tmp_path, signals, count, when, backlog=0):
    """SIGTERM to usher `when` seconds into a storm (which goes on through the shutdown), or
    right after its last signal ("end"); returns (sent, ms from SIGTERM to its log line, ms from
    SIGTERM to usher's exit). With `backlog`, the storm begins with that many real-time signals
    already queued at usher (sent while it was stopped: a burst that came while it was busy)."""
    if backlog:
        os.kill(u.pid, signal.SIGSTOP)
        assert wait_until(lambda: status_field(u.pid, "State").startswith("T"), 5)
        finish(senders(spawn, storm, u.pid, tmp_path, procs=1, threads=2, count=backlog // 2,
                       signals=REALTIME, tag="backlog"))
    sending = senders(spawn, storm, u.pid, tmp_path, count=count, signals=signals)
    if backlog:
        os.kill(u.pid, signal.SIGCONT)
    if when == "end":
        sent = finish(sending)
    else:
        time.sleep(when)
    sent_at = u.signal(signal.SIGTERM)
    storm_on = when != "end" and all(p.poll() is None for p, _ in sending)
    assert when == "end" or storm_on, "the storm was over before SIGTERM: make it longer"
    seen = lambda: any(t.startswith("received SIGTERM, shutting down") for t in u.log_texts())  # noqa: E731
    # Right after a storm, usher first reads what is queued before SIGTERM (0.2 s here for a
    # backlog of 10000 mixed real-time signals: a deep queue of them is slow to dequeue).
    bound = 1.5 if when != "end" else 4
    wait_until(seen, bound)
    noticed = ms(time.monotonic_ns() - sent_at)
    assert seen() and noticed < bound * 1000, (
        f"usher logged the stop request {noticed:.0f} ms after SIGTERM"
        f"{' (the storm was still going on)' if storm_on else ''}\n{u.stderr()}")
    assert u.wait(timeout=20) == 143, u.stderr()
    took = ms(u.ended_at - sent_at)
    if when != "end":
        sent = finish(sending)
    print(f"\nSIGTERM at {when}: {sent['total']} signals sent in {sent['took_ns'] / 1e9:.2f}s; "
          f"the stop request logged {noticed:.0f} ms and usher ended {took:.0f} ms after SIGTERM")
    return sent, noticed, took


def assert_ordered_shutdown(u, took):
    """The main (storm), then steady, then a, each sidecar awaited; no kill, status 143."""
    assert took < 5000, f"usher took {took:.0f} ms, its deadline is 5s"
    texts = u.log_texts()
    assert sum(1 for t in texts if t.startswith("received SIGTERM, shutting down")) == 1, texts
    assert not any("SIGKILL" in t for t in texts), texts
    main_exit = next(i for i, t in enumerate(texts) if t.startswith("storm[") and " exited with signal SIGTERM" in t)
    order = [t.split("[")[0] for t in texts if " stopping with " in t]
    assert order == ["storm", "steady", "a"], texts
    assert main_exit < next(i for i, t in enumerate(texts) if t.startswith("steady[") and " stopping " in t)
    for name in ("steady", "a"):
        assert [e[2] for e in u.find(name, "signal")] == ["15"], f"{name} got a forwarded signal"
    assert u.first("a", "signal")[3] >= u.first("steady", "exit")[3]
    assert texts[-1] == "exiting with status 143"


def stormy_pod(usher, act, storm, tmp_path):
    status = tmp_path / "main.status"
    u = usher(["--sidecar", "a=" + act.line("a", "--linger", 100), *pod_args(act, storm, status)])
    u.wait_started("a", "steady", "crashy")
    assert wait_until(lambda: read_received(status) is not None, 10)
    return u


@pytest.mark.parametrize("when", [0.05, 0.3])
def test_the_stop_request_is_honoured_at_once_in_a_storm_of_standard_signals(usher, act, storm, spawn, tmp_path, when):
    """SIGTERM in the middle of a storm of SIGHUP, SIGUSR1, SIGUSR2 and SIGWINCH that goes on
    through the shutdown: the ordered shutdown starts at once and ends well inside the deadline."""
    u = stormy_pod(usher, act, storm, tmp_path)
    # Up to 6 x 300000 signals: standard signals are cheap to send (pending ones coalesce), and
    # the senders stop when usher is gone.
    sent, noticed, took = stop_in_storm(u, spawn, storm, tmp_path, [int(s) for s in STANDARD], 300000, when)
    assert_ordered_shutdown(u, took)


@pytest.mark.parametrize("when", [0.05, 0.3])
def test_the_stop_request_is_honoured_at_once_in_a_storm_of_realtime_signals(usher, act, storm, spawn, tmp_path, when):
    """The same with real-time signals in the mix (each one queued), starting from a backlog of
    8000 queued at usher: SIGTERM (dequeued before any real-time signal) must still be acted on
    at once, not once the storm is over."""
    u = stormy_pod(usher, act, storm, tmp_path)
    sent, noticed, took = stop_in_storm(u, spawn, storm, tmp_path, MIX, 20000, when, backlog=8000)
    assert_ordered_shutdown(u, took)


def test_the_stop_request_right_after_a_storm(usher, act, storm, spawn, tmp_path):
    """SIGTERM right after the last of 48000 signals, while usher and the main process still have
    thousands queued: the shutdown starts at once and ends in order."""
    u = stormy_pod(usher, act, storm, tmp_path)
    sent, noticed, took = stop_in_storm(u, spawn, storm, tmp_path, MIX, 8000, "end")
    assert sent["total"] == 48000
    assert_ordered_shutdown(u, took)


@pytest.mark.parametrize("pid1", [
    True,
    False,
], ids=["pid1", "subreaper"])
def test_every_signal_number_leaves_usher_running(usher, storm, tmp_path, pid1):
    """kill -N usher for every N from 1 to 64 but the stop requests, SIGKILL, SIGSTOP and the
    synchronous signals (SIGSEGV, ...: usher leaves those at their default so that a crash stays
    a crash): usher keeps running. PID 1 of a namespace is protected by the kernel from a signal
    it has no handler for; a subreaper is not, so usher must block or handle every one."""
    status = tmp_path / "main.status"
    u = usher(["--", storm, "main", "--out", str(status)], pid1=pid1)
    assert wait_until(lambda: read_received(status) is not None, 10)
    main = child_with(u, "main")
    skip = {signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT,
            signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP,
            signal.SIGABRT, signal.SIGSYS}
    died = None
    try:
        for n in range(1, 65):
            if n in skip:
                continue
            os.kill(u.pid, n)
            time.sleep(0.01)
            if not u.running():
                died = n
                break
        assert died is None, (f"signal {died} killed usher (status {u.proc.returncode}), "
                              f"its main process {'is still running' if alive(main) else 'is gone'}")
        u.signal(signal.SIGTERM)
        assert u.wait() == 143
    finally:
        if alive(main):  # usher died and left it: it is no longer below usher for the cleanup
            os.kill(main, signal.SIGKILL)


# --- orphans and zombies ---------------------------------------------------------------------

def child_with(u, word):
    """The pid (as seen from here) of usher's child whose command line has `word`."""
    for pid in u.children_states():
        try:
            if word.encode() in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0"):
                return pid
        except FileNotFoundError:
            pass
    raise AssertionError(f"no child of usher runs {word}")


def zombie_watch(u, seconds, interval=0.02):
    """Samples usher's children for `seconds`; returns the zombies seen in two samples at least
    300 ms apart (one that lingers, not one caught between its exit and its reaping)."""
    first_seen, lingering = {}, set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        for pid, letter in u.children_states().items():
            if letter == "Z":
                first_seen.setdefault(pid, now)
                if now - first_seen[pid] > 0.3:
                    lingering.add(pid)
        time.sleep(interval)
    return lingering


@pytest.mark.parametrize("count, hold_ms", [(5000, 0), (2000, 1500)], ids=["5000-exit-at-once", "2000-exit-together"])
def test_thousands_of_orphans_are_all_reaped(usher, act, storm, tmp_path, count, hold_ms):
    """The main process double-forks `count` orphans (each exits at once, often before its
    parent, so usher inherits a zombie; or all exit together `hold_ms` after the first, so
    their SIGCHLDs coalesce), then goes on as the actor. Every one is reaped: none lingers."""
    made = tmp_path / "made"
    script = f"{storm} orphans {count} --hold-ms {hold_ms} > {made} && exec {act.line('main')}"
    u = usher(["--", "sh", "-c", script])
    t0 = time.monotonic()
    u.wait_started("main", timeout=60)
    assert open(made).read().split() == ["orphans", str(count)]
    settled = wait_until(lambda: list(u.children_states().values()) in (["S"], ["R"]), 30 + hold_ms / 1000, 0.05)
    took = time.monotonic() - t0
    states = u.children_states()
    hwm = kib(u.pid, "VmHWM")
    print(f"\n{count} orphans (hold {hold_ms} ms): all reaped {took:.2f}s after the start; usher VmHWM {hwm} KiB")
    assert settled, f"usher's children did not settle: {len(states)} left, {sum(1 for s in states.values() if s == 'Z')} zombies"
    assert not zombie_watch(u, 0.5)
    assert u.running()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_a_child_forking_all_through_the_shutdown_is_reaped_and_killed_at_the_deadline(usher, act, storm, tmp_path, pid1):
    """The main ignores SIGTERM and goes on forking (a child every 200us, every other one an
    orphan) until it is killed: no zombie lingers, the 2s deadline holds, status 137, and
    nothing of it is left afterwards. The sidecar's turn never comes: it gets its SIGTERM at the
    stop window (300 ms before the deadline; the default 2s window would send it at once), notes
    it and runs on, and is killed at the deadline too."""
    status = tmp_path / "main.status"
    u = usher(["--grace", "2s", "--min-stop-window", "300ms", "--sidecar", "side=" + act.line("side", "--catch", "TERM"),
               "--", storm, "main", "--out", str(status), "--ignore-term", "--fork-every-us", "200",
               "--orphan-every", "2"], pid1=pid1)
    u.wait_started("side")
    assert wait_until(lambda: read_received(status) is not None, 10)
    main, side = child_with(u, "main"), child_with(u, "side")
    time.sleep(0.3)
    before = read_received(status)["forks"]
    sent_at = u.signal(signal.SIGTERM)
    lingering = zombie_watch(u, 1.5)
    during = read_received(status)["forks"]
    assert u.wait(timeout=10) == 137
    took = ms(u.ended_at - sent_at)
    print(f"\nforking through the shutdown: {during - before} forks in the 1.5s after SIGTERM; usher ended after {took:.0f} ms")
    assert during - before > 100, "the main stopped forking: the test shows nothing"
    assert not lingering, f"zombies lingered during the shutdown: {lingering}"
    assert 1950 <= took < 4000, f"the deadline is 2s, usher ended after {took:.0f} ms"
    texts = u.log_texts()
    assert any(t.startswith("storm[") and "still running at the deadline: SIGKILL" in t for t in texts), texts
    assert wait_until(lambda: not pgid_members(main), 5), f"left behind: {pgid_members(main)}"
    assert not u.find("side", "exit"), "the sidecar's turn never came: SIGKILL at the deadline"
    side_sig = u.find("side", "signal")
    assert [e[2] for e in side_sig] == ["15"] and ms(side_sig[0][3] - sent_at) >= 1650, \
        f"the sidecar's stop signal should wait for the stop window, 1.7s in: {side_sig}"
    assert wait_until(lambda: not alive(side), 5)
