"""usher started directly, not as PID 1: it makes itself a child subreaper, so orphans come to it
and are reaped, as they would be in a container; and it leaves nothing of its own behind."""
import signal
import time

from helpers.proc import alive


def test_orphans_are_reparented_to_usher_and_reaped(usher, act):
    u = usher(["--", *act("main", "--orphans", 5, "--orphan-ms", 300)], pid1=False)
    u.wait_for(lambda: len([e for e in u.events() if e[1] == "orphan-ppid"]) == 5, what="orphans")
    ppids = {e[2] for e in u.events() if e[1] == "orphan-ppid"}
    assert ppids == {str(u.pid)}, f"orphans should be reparented to usher ({u.pid}), got {ppids}"
    u.wait_for(lambda: len([e for e in u.events() if e[1] == "orphan-exit"]) == 5, what="orphans to exit")
    # An orphan that has exited stays listed as a zombie (Z) until usher reaps it.
    u.wait_for(lambda: list(u.children_states().values()) in (["S"], ["R"]), timeout=5,
               what="every orphan reaped, only the main process left")
    time.sleep(0.1)
    assert u.running()
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_what_is_left_of_its_process_groups_dies_with_usher(usher, act):
    # The shell exits at once; its background child ignores SIGTERM and stays in the group.
    u = usher(["--", "sh", "-c", act.line("straggler", "--ignore", "TERM") + " & sleep 0.2"], pid1=False)
    u.wait_started("straggler")
    pid = u.first("straggler", "start")[4]
    assert u.wait() == 0
    time.sleep(0.1)
    assert not alive(pid), \
        "usher left a process of its own behind"


def test_the_ordered_shutdown_works_the_same_when_not_pid1(usher, act):
    u = usher(["--sidecar", "a=" + act.line("a", "--linger", 100), "--sidecar", "b=" + act.line("b", "--linger", 100),
               "--", *act("main", "--report", "--linger", 100)], pid1=False)
    u.wait_started("a", "b", "main")
    assert u.pid != 1 and u.first("main", "ppid")[2] == str(u.pid)
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    main_exit, b_sig, b_exit, a_sig = (u.first("main", "exit"), u.first("b", "signal", "15"),
                                       u.first("b", "exit"), u.first("a", "signal", "15"))
    assert main_exit[3] <= b_sig[3] and b_exit[3] <= a_sig[3]
