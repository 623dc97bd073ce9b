import CUsher

/// Reaps every child that has exited: its own children and, as PID 1 or as a child subreaper,
/// every orphan reparented to usher. SIGCHLD coalesces, so one SIGCHLD may stand for many
/// exits: waitpid(-1, WNOHANG) runs until nothing is left.
func reapAll(_ each: (Int32, ExitStatus) -> Void) {
    var status: Int32 = 0
    while true {
        let pid = retryingEINTR { waitpid(-1, &status, WNOHANG) }
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
