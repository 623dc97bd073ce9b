/// `usher rehearse`: the driver's normal run with a trigger and an observer added. The lifecycle
/// itself is the same Supervisor, driven by the same loop.

/// `usher rehearse`: the normal run, as many times as asked, each with a stop signal sent after
/// `--after` and an observer that records the timeline; then the report on stdout. Exit status
/// 0 only when every run passed.
func rehearse(_ plan: Plan, _ options: RunOptions, _ rehearsal: RehearseOptions) -> Int32 {
    var driver: Driver
    do {
        driver = try Driver(plan: plan, options: options)
    } catch {
        writeAll(2, "usher: \(error.message)\n")
        return 1
    }
    driver.childStdout = 2
    var runs: [Rehearsal] = []
    for _ in 0..<rehearsal.repeatCount {
        let probeFor = rehearsal.probeFor ?? longestPreStopSleep(plan)
        guard var run = driver.rehearseOnce(after: rehearsal.after, signal: rehearsal.signal,
                                            probes: rehearsal.probes, probeFor: probeFor)
        else { return 1 }
        run.probeURLs = rehearsal.probeTexts
        runs.append(run)
        if driver.interrupted { break }
    }
    switch rehearsal.format {
    case .text: writeAll(1, rehearsalText(runs))
    case .json: writeAll(1, rehearsalJSON(runs))
    }
    return runs.allSatisfy { $0.passed } && !driver.interrupted ? 0 : 1
}

extension Driver {
    /// How long a rehearsal waits for the main containers to become ready before it sends the
    /// stop signal anyway (the report then shows them never ready).
    static let readyTimeout: Nanos = 60 * nanosPerSecond

    /// Notes when each process first became ready (its startup and readiness probes passed, or
    /// it has none), and arms the stop signal once every main container is.
    mutating func watchReadiness() {
        let now = monotonicNow()
        for i in pids.indices where observer?.processes[i].readyAt == nil && supervisor.isReady(i) {
            observer?.processes[i].readyAt = now
        }
        armTrigger(now: now)
    }

    /// Arms a pending rehearsal stop once every main container is ready, or at the time limit.
    mutating func armTrigger(now: Nanos) {
        guard let pending = pendingTrigger else { return }
        let ready = supervisor.plan.mainIndices.allSatisfy { supervisor.isReady($0) }
        guard ready || now >= pending.readyBy else { return }
        pendingTrigger = nil
        trigger = (now + pending.after, pending.signal)
    }

    /// One rehearsal run: a fresh supervisor, the stop signal `after` the start, and what the
    /// observer saw; orphans are checked and killed before returning. nil if the loop failed.
    mutating func rehearseOnce(after: Nanos, signal: Int32, probes: [HTTPURL], probeFor: Nanos) -> Rehearsal? {
        supervisor = Supervisor(plan: supervisor.plan)
        pids = Array(repeating: nil, count: pids.count)
        exitCode = nil
        let start = monotonicNow()
        observer = Rehearsal(plan: supervisor.plan, startedAt: start)
        observer?.probeFor = probeFor
        self.probeFor = probeFor
        trigger = nil
        pendingTrigger = (after, signal, start + Driver.readyTimeout)
        prober = probes.isEmpty ? nil : RequestProber(urls: probes, startAt: start)
        feed(.start)
        guard loop() >= 0 else { return nil }
        outputs.flushAll()
        trigger = nil
        pendingTrigger = nil
        guard var run = observer else { return nil }
        observer = nil
        if var p = prober {
            p.stop()
            run.requests = p.records
            prober = nil
        }
        // What outlived the shutdown: members left in a process group usher started, and
        // children of usher in no such group (daemons that left their group).
        for (i, pid) in pids.enumerated() {
            if let pid, groupHasMembers(pid) { run.processes[i].leftOrphans = true }
        }
        let groups = pids.compactMap { $0 }
        run.strayOrphans = killRemainingChildren(outside: groups)
        for pgid in groups { signalGroup(pgid, sigkill) }
        return run
    }

}

/// The time the endpoints are given to converge by default: the longest preStop sleep of a main
/// container (an exec hook's duration is not known beforehand).
private func longestPreStopSleep(_ plan: Plan) -> Nanos {
    plan.mainIndices.reduce(0) { longest, i in
        if case .sleep(let wait)? = plan.processes[i].preStop { return max(longest, wait) }
        return longest
    }
}
