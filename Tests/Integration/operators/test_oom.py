"""Which child ran out of memory. When a child dies of a SIGKILL usher did not send, usher reads its
cgroup's memory.events (cgroup v2; memory.oom_control on v1) and, if oom_kill grew, logs a line with
`OOM` (text) / event `oom_killed` (JSON) and the limit when it can read it. `--oom-score-adj N`
(USHER_OOM_SCORE_ADJ) gives every sidecar oom_score_adj N; the main process keeps usher's.

The hog helper (helpers/hog.c) allocates until the kernel kills it. On the host the tests make
a memory cgroup of their own below this process's (64 MiB, no swap) and start usher in it, as
PID 1 and as a subreaper; in podman the container gets `--memory 64m --memory-swap 64m`.
This machine (checked when the tests were written): a hybrid cgroup layout, the memory
controller on v1 (/sys/fs/cgroup/memory), no swap; podman's --memory works there (runc,
cgroupfs) and the container sees its own memory.limit_in_bytes and memory.oom_control."""
import json
import os
import signal

import pytest

from helpers.memcg import LIMIT_SHOWN, hog_argv, host_pid, limit_label, memory_cgroup, oom_lines  # noqa: F401
from helpers.podfile import container, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])


# --- OOM attribution on the host -------------------------------------------------------------------

@MODES
def test_a_main_process_killed_by_the_oom_killer_is_logged_as_such_with_the_limit(usher, hog, events_log, memory_cgroup, pid1):
    cg = memory_cgroup()
    u = usher(["--", *hog_argv(hog, events_log, "main")], pid1=pid1, preexec_fn=cg.enter_and_setsid)
    assert u.wait(timeout=60) == 137, u.stderr()
    assert u.find("main", "start") and not u.find("main", "survived"), u.events()
    lines = oom_lines(u)
    assert lines, f"no OOM line after the kernel's OOM killer ended the main process:\n{u.stderr()}"
    assert any(l.startswith("hog[") and LIMIT_SHOWN.search(l) for l in lines), \
        f"the OOM line should name the process and the 64 MiB limit:\n{u.stderr()}"


def test_the_json_log_has_an_oom_killed_event_with_the_limit(usher, hog, events_log, memory_cgroup):
    cg = memory_cgroup()
    u = usher(["--log-format", "json", "--", *hog_argv(hog, events_log, "main")], preexec_fn=cg.enter_and_setsid)
    assert u.wait(timeout=60) == 137, u.stderr()
    records = [json.loads(l) for l in u.stderr().splitlines()]
    oom = [r for r in records if r.get("event") == "oom_killed"]
    assert oom, f"no oom_killed event:\n{u.stderr()}"
    assert oom[0].get("process") == "hog" and isinstance(oom[0].get("pid"), int), oom
    # The limit's key is its file's name in this cgroup version (v1 used to get memory_max).
    right, wrong = (k.replace(".", "_") for k in limit_label(cg))
    assert right in oom[0] and wrong not in oom[0] and LIMIT_SHOWN.search(oom[0][right]), oom[0]
    assert LIMIT_SHOWN.search(json.dumps(oom[0])), f"the event should carry the limit: {oom[0]}"


@MODES
def test_only_the_child_the_oom_killer_ended_is_attributed(usher, act, hog, events_log, memory_cgroup, tmp_path, pid1):
    """A sidecar runs out of memory (and comes back as a plain actor); then the main process is
    SIGKILLed from outside: that kill did not grow oom_kill, so it is no OOM."""
    cg = memory_cgroup()
    marker = tmp_path / "hogged-once"
    greedy = (f"sh -c 'if [ -e {marker} ]; then exec {act.line('greedy-again')}; fi; "
              f"touch {marker}; exec {' '.join(hog_argv(hog, events_log, 'greedy'))}'")
    u = usher(["--sidecar", "greedy=" + greedy, "--", *act("main")], pid1=pid1, preexec_fn=cg.enter_and_setsid)
    u.wait_started("greedy-again", "main", timeout=30)
    u.wait_for(lambda: oom_lines(u), timeout=10, what="the sidecar's OOM line")
    assert all(l.startswith("greedy[") for l in oom_lines(u)), u.stderr()
    os.kill(host_pid(u, "main"), signal.SIGKILL)
    assert u.wait(timeout=30) == 137, u.stderr()
    assert "exited with signal SIGKILL" in u.stderr()
    assert all(l.startswith("greedy[") for l in oom_lines(u)), \
        f"a SIGKILL from outside was taken for the OOM killer:\n{u.stderr()}"


def test_a_sigkill_at_the_deadline_is_not_an_oom(usher, act, memory_cgroup):
    cg = memory_cgroup()
    u = usher(["--grace", "1s", "--", *act("main", "--ignore", "TERM")], preexec_fn=cg.enter_and_setsid)
    u.wait_started("main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 137
    assert oom_lines(u) == [], u.stderr()


# --- OOM attribution in podman ---------------------------------------------------------------------

def test_in_podman_with_a_memory_limit_the_oom_killed_main_is_named(ctr):
    c = ctr()
    c.run("--sidecar", "side=" + c.actor_line("side"), "--", *c.hog("main", "--after", 300),
          opts=["--memory", "64m", "--memory-swap", "64m"])
    assert c.exit_code() == 137, c.logs()
    lines = [l for l in c.usher_lines() if "OOM" in l]
    assert lines, f"no OOM line in the container's log:\n{c.logs()}"
    assert any(l.startswith("hog[") and LIMIT_SHOWN.search(l) for l in lines), c.logs()
    assert any(l.startswith("side[") and "stopping with SIGTERM" in l for l in c.usher_lines()), c.logs()


# --- --oom-score-adj -----------------------------------------------------------------------------

def oom_score_adj(pid):
    return int(open(f"/proc/{pid}/oom_score_adj").read())


def usher_at_100():
    """A preexec_fn: usher starts with oom_score_adj 100 (its children would inherit it)."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("100")
    os.setsid()


@MODES
@pytest.mark.parametrize("how", ["flag", "variable"])
def test_sidecars_get_the_oom_score_adj_and_the_main_keeps_usher_own(usher, act, pid1, how):
    flag = ["--oom-score-adj", "500"] if how == "flag" else []
    env = {"USHER_OOM_SCORE_ADJ": "500"} if how == "variable" else {}
    u = usher([*flag, "--sidecar", "a=" + act.line("a"), "--sidecar", "b=" + act.line("b", "--exit-after", 2500),
               "--", *act("main")], pid1=pid1, env=env, preexec_fn=usher_at_100)
    u.wait_started("a", "b", "main")
    pids = {n: host_pid(u, n) for n in ("a", "b", "main")}
    # Set when each starts: before its exec, or at once after the spawn.
    u.wait_for(lambda: oom_score_adj(pids["a"]) == 500 and oom_score_adj(pids["b"]) == 500, timeout=2,
               what="the sidecars' oom_score_adj to be 500")
    assert oom_score_adj(pids["main"]) == 100, "the main process keeps usher's oom_score_adj"
    assert oom_score_adj(u.pid) == 100, "usher's own oom_score_adj is not changed"
    # A restarted sidecar gets it too.
    u.wait_for(lambda: len(u.find("b", "start")) == 2, timeout=10, what="b's restart")
    again = host_pid(u, "b")
    u.wait_for(lambda: oom_score_adj(again) == 500, timeout=2, what="the restarted sidecar's oom_score_adj")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_pod_file_sidecars_get_the_oom_score_adj(usher, act, tmp_path):
    pod = write_pod(tmp_path, init=[sidecar("proxy", act("proxy"))], containers=[container("web", act("web"))])
    u = usher(["--oom-score-adj", "300", "-f", pod], preexec_fn=usher_at_100)
    u.wait_started("proxy", "web")
    proxy, web = host_pid(u, "proxy"), host_pid(u, "web")
    u.wait_for(lambda: oom_score_adj(proxy) == 300, timeout=2, what="the sidecar's oom_score_adj")
    assert oom_score_adj(web) == 100
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@pytest.mark.parametrize("args, env, names", [
    (["--oom-score-adj", "1001"], {}, "--oom-score-adj"),
    (["--oom-score-adj", "-1001"], {}, "--oom-score-adj"),
    (["--oom-score-adj", "high"], {}, "--oom-score-adj"),
    ([], {"USHER_OOM_SCORE_ADJ": "2000"}, "USHER_OOM_SCORE_ADJ"),
])
def test_an_invalid_oom_score_adj_is_a_usage_error(usher, act, args, env, names):
    u = usher(["--sidecar", "s=" + act.line("s"), *args, "--", *act("main", "--exit-after", 1000)], env=env)
    assert u.wait() == 2, u.stderr()
    err = u.stderr()
    assert names in err and "unknown option" not in err, err
    assert u.events() == []
