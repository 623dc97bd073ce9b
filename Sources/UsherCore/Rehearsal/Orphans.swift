/// What outlived a rehearsal run's shutdown: members left in a process group usher started
/// (`groups`, by process), and children of usher in no such group (daemons that left their
/// group). The loop ends as the last tracked process is reaped; a member that got the same stop
/// signal may still be dying then, or be a zombie reparented to usher and not yet reaped, and
/// kill(-pgid, 0) finds both: they are given `orphanSettle` to go before they count. Everything
/// found is killed, so that the next run starts clean.
func noteOrphans(of groups: [Int32?], in run: inout Rehearsal) {
    let settleBy = later(monotonicNow(), by: orphanSettle)
    for (i, pgid) in groups.enumerated() {
        if let pgid, groupOutlives(pgid, settleBy) { run.processes[i].leftOrphans = true }
    }
    let started = groups.compactMap { $0 }
    run.strayOrphans = killRemainingChildren(outside: started)
    for pgid in started { signalGroup(pgid, sigkill) }
}

/// How long a member of a stopped process group may take to die of the stop signal it got with
/// its leader before it counts as left behind: the kernel ends a process that has a fatal signal
/// pending as soon as it runs, which on a loaded machine is milliseconds.
private var orphanSettle: Nanos { nanosPerSecond / 10 }

/// Whether process group `pgid` still has members at `deadline`: its zombies (orphans usher
/// inherited) are reaped as they come, and it is looked at every 2 ms until then. For after the
/// shutdown only (it sleeps).
private func groupOutlives(_ pgid: Int32, _ deadline: Nanos) -> Bool {
    while true {
        reapAll { _, _ in }
        if !groupHasMembers(pgid) { return false }
        if monotonicNow() >= deadline { return true }
        pause(nanos: 2_000_000)
    }
}

/// Kills and reaps every child usher still has (orphans reparented to it), and returns how many
/// were outside the process groups in `groups` (those are already accounted for). A child is
/// usher's own and not yet reaped, so its pid cannot have been reused.
private func killRemainingChildren(outside groups: [Int32]) -> Int {
    var strays = 0
    for pid in ownChildren() {
        if !groups.contains(processGroup(of: pid)) { strays += 1 }
        signalProcess(pid, sigkill)
        reapChild(pid)
    }
    reapAll { _, _ in }
    return strays
}
