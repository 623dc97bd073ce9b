/// `usher rehearse`: the normal run, as many times as asked, each with a stop signal sent after
/// `--after` and an observer that records the timeline; then the report on stdout. Exit status
/// 0 only when every run passed. The lifecycle itself is the same Supervisor, driven by the same
/// loop; what a rehearsal adds is its companion, `RehearsalCompanion`.
func rehearse(_ plan: Plan, _ options: RunOptions, _ rehearsal: RehearseOptions) -> Int32 {
    let loop: EventLoop
    do {
        loop = try EventLoop(childStdout: 2)
    } catch {
        writeAll(2, "usher: \(error.message)\n")
        return 1
    }
    var runs: [Rehearsal] = []
    for _ in 0..<rehearsal.repeatCount {
        let probeFor = rehearsal.probeFor ?? longestPreStopSleep(plan)
        guard var run = rehearseOnce(plan, options, on: loop, after: rehearsal.after, signal: rehearsal.signal,
                                     probes: rehearsal.probes, probeFor: probeFor)
        else { return 1 }
        run.probeURLs = rehearsal.probeTexts
        runs.append(run)
        if run.interruptedBy != nil { break }  // a real stop request ends the series
    }
    let report: String
    switch rehearsal.format {
    case .text: report = rehearsalText(runs)
    case .json: report = rehearsalJSON(runs)
    }
    return printResult(report, status: runs.allSatisfy { $0.passed } ? 0 : 1)
}

/// One rehearsal run on `loop`: a run of its own (a fresh driver: supervisor, performer and
/// companion), the stop signal `after` every main container is ready, and what the observer
/// saw; orphans are checked and killed before returning. nil if the loop failed.
private func rehearseOnce(_ plan: Plan, _ options: RunOptions, on loop: EventLoop, after: Nanos, signal: Int32,
                          probes: [HTTPURL], probeFor: Nanos) -> Rehearsal? {
    let start = monotonicNow()
    var observer = Rehearsal(plan: plan, startedAt: start)
    observer.probeFor = probeFor
    let rehearsal = RehearsalCompanion(
        after: after, signal: signal, readyBy: later(start, by: RehearsalCompanion.readyTimeout),
        observer: observer, prober: probes.isEmpty ? nil : RequestProber(urls: probes, startAt: start),
        probeFor: probeFor)
    var driver = Driver(plan: plan, options: options, loop: loop, companion: rehearsal)
    guard driver.run() != nil, var run = rehearsal.observer else { return nil }
    if var p = rehearsal.prober {
        p.stop()
        run.requests = p.records
    }
    noteOrphans(of: driver.performer.groups, in: &run)
    return run
}

/// What a rehearsal run adds on top of the PID-1 loop: the stop signal, sent `after` once every
/// main container is ready (or `after` past `readyBy` if they never are); the observer that
/// records the timeline; and the requests of `--probe`, kept going until `probeFor` after the
/// stop signal.
final class RehearsalCompanion: Companion {
    /// The stop signal before it is armed, and once armed the instant it is sent.
    var pending: (after: Nanos, signal: Int32, readyBy: Nanos)?
    var trigger: (at: Nanos, signal: Int32)?
    var observer: Rehearsal?
    var prober: RequestProber?
    var probeFor: Nanos = 0
    /// The stop signal `tick` just handed the driver: the next stop request observed is that
    /// one; any other is a real one from outside, which interrupts the rehearsal.
    var ownSignal: Int32?

    init() {}

    init(after: Nanos, signal: Int32, readyBy: Nanos, observer: Rehearsal, prober: RequestProber?, probeFor: Nanos) {
        pending = (after, signal, readyBy)
        self.observer = observer
        self.prober = prober
        self.probeFor = probeFor
    }

    /// How long a rehearsal waits for the main containers to become ready before it sends the
    /// stop signal anyway (the report then shows them never ready).
    static var readyTimeout: Nanos { 60 * nanosPerSecond }

    func observe(_ event: Event, at now: Nanos) {
        if case .signal(let sig) = event, isStopRequest(sig) {
            if ownSignal == sig {
                ownSignal = nil
            } else if observer != nil, observer?.interruptedBy == nil {
                observer?.interruptedBy = sig
                pending = nil  // the shutdown under way is the one from outside
                trigger = nil
            }
        }
        observer?.observe(event, at: now)
    }

    func observe(_ action: Action, at now: Nanos) {
        observer?.observe(action, at: now)
    }

    /// Notes when each process first became ready (its startup and readiness probes passed, or
    /// it has none), and arms the stop signal once every main container is.
    func settled(_ supervisor: Supervisor, at now: Nanos) {
        guard observer != nil else { return }
        for i in supervisor.plan.containers.indices where observer?.processes[i].readyAt == nil && supervisor.isReady(i) {
            observer?.processes[i].readyAt = now
        }
        guard let p = pending else { return }
        let ready = supervisor.plan.mainIndices.allSatisfy { supervisor.isReady($0) }
        guard ready || now >= p.readyBy else { return }
        pending = nil
        trigger = (later(now, by: p.after), p.signal)
    }

    var nextWakeup: Nanos? {
        var next: Nanos?
        for t in [trigger?.at, pending?.readyBy, prober?.nextWakeup] {
            if let t { next = min(next ?? t, t) }
        }
        return next
    }

    func tick(at now: Nanos, poller: Poller) -> [Event] {
        prober?.tick(now: now, poller: poller)
        guard let t = trigger, now >= t.at else { return [] }
        trigger = nil
        prober?.stopSending(at: later(now, by: probeFor))
        ownSignal = t.signal
        return [.signal(t.signal)]  // the rehearsal's stop, as if sent from outside
    }

    func ready(token: UInt64, at now: Nanos, poller: Poller) {
        prober?.ready(token: token, now: now, poller: poller)
    }

    func keepsLoopRunning(at now: Nanos) -> Bool {
        prober?.stillSending(at: now) == true
    }
}

/// The time the endpoints are given to converge by default: the longest preStop sleep of a main
/// container (an exec hook's duration is not known beforehand).
private func longestPreStopSleep(_ plan: Plan) -> Nanos {
    plan.mainIndices.reduce(0) { longest, i in
        if case .sleep(let wait)? = plan.containers[i].preStop { return max(longest, wait) }
        return longest
    }
}
