import CUsher

/// Reaps every child that has exited: its own children and, as PID 1 or as a child subreaper,
/// every orphan reparented to usher. SIGCHLD coalesces, so one SIGCHLD may stand for many
/// exits: waitpid(-1, WNOHANG) runs until nothing is left.
func reapAll(_ each: (Int32, ExitStatus) -> Void) {
    var status: Int32 = 0
    while true {
        let pid = retryingEINTR { cusher_sys_reap(&status) }
        if pid <= 0 { return }  // 0: children remain, none exited; -1/ECHILD: no children
        if cusher_wifexited(status) != 0 {
            each(pid, .exited(cusher_wexitstatus(status)))
        } else if cusher_wifsignaled(status) != 0 {
            each(pid, .signaled(cusher_wtermsig(status)))
        }
    }
}

/// Makes usher the reaper of its orphaned descendants when it is not PID 1, so that
/// `usher -- app` on a laptop behaves as it does in a container.
func becomeSubreaper() {
    _ = cusher_set_child_subreaper()
}

/// True while the process group `pgid` still has a member (signal 0 checks without sending).
/// Only asked right after usher reaped the group's leader, before anything else can run here.
func groupHasMembers(_ pgid: Int32) -> Bool {
    kill(-pgid, 0) == 0
}

/// Whether process group `pgid` still has members at `deadline`: its zombies (orphans usher
/// inherited) are reaped as they come, and it is looked at every 2 ms until then. For after the
/// shutdown only (it sleeps).
func groupOutlives(_ pgid: Int32, _ deadline: Nanos) -> Bool {
    while true {
        reapAll { _, _ in }
        if !groupHasMembers(pgid) { return false }
        if monotonicNow() >= deadline { return true }
        var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
        _ = nanosleep(&pause, nil)
    }
}

/// Kills and reaps every child usher still has (orphans reparented to it), and returns how many
/// were outside the process groups in `groups` (those are already accounted for). They are found
/// in /proc/self/task/<pid>/children; a child is usher's own and not yet reaped, so its pid
/// cannot have been reused. Without /proc, nothing is found.
func killRemainingChildren(outside groups: [Int32]) -> Int {
    guard case .success(let bytes) = readWholeFile("/proc/self/task/\(getpid())/children") else { return 0 }
    var strays = 0
    var pid: Int32 = 0
    for b in bytes + [32] {
        if b >= 48 && b <= 57 {
            pid = pid * 10 + Int32(b - 48)
        } else if pid > 0 {
            if !groups.contains(getpgid(pid)) { strays += 1 }
            signalProcess(pid, sigkill)
            var status: Int32 = 0
            _ = retryingEINTR { waitpid(pid, &status, 0) }
            pid = 0
        }
    }
    reapAll { _, _ in }
    return strays
}
