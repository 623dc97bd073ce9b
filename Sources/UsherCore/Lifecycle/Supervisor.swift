/// The supervisor as a pure state machine: events in, actions out, the time passed in. It never
/// makes a system call, so every ordering and deadline rule is unit-tested with a fake clock.
///
/// The lifecycle, as a Kubernetes pod gives it to its containers:
/// - start: sidecars in order, then the main process; if one cannot be started, nothing after
///   it starts and what was started is stopped in reverse order.
/// - a stop request (SIGTERM, SIGINT, SIGQUIT) starts one grace deadline; the preStop wait runs,
///   then the main process's group gets the stop signal; once it has exited, each sidecar in
///   reverse start order gets SIGTERM and is waited for before the next.
/// - the main process exiting by itself starts the same sidecar shutdown and deadline.
/// - at the deadline every process still running gets SIGKILL (to its group).
/// - other signals are forwarded to the main process.
/// - usher exits when nothing it started runs any more, with the main process's status.
public struct Supervisor {
    public let plan: Plan

    enum ProcessState: Equatable {
        case notStarted
        case running(pid: Int32, since: Nanos, signaledAt: Nanos?)
        case exited
        case failed
    }

    enum Phase: Equatable {
        /// Starting the process at this index (the driver reports back at once).
        case starting(Int)
        case running
        /// Shutting down; the preStop wait ends at `preStopUntil`.
        case stopping(preStopUntil: Nanos)
        case done
    }

    var states: [ProcessState]
    var phase: Phase = .starting(0)
    /// The grace deadline, set when shutdown begins.
    var deadline: Nanos?
    var killedAtDeadline = false
    /// A stop signal has been received (the shutdown may also begin with the main's own exit).
    var stopRequested = false
    /// usher's exit status, decided by the first thing that settles it.
    var exitCode: Int32?

    public init(plan: Plan) {
        self.plan = plan
        self.states = Array(repeating: .notStarted, count: plan.processes.count)
    }

    /// The next instant at which the supervisor wants a `.tick`, or nil when nothing is due
    /// (then the driver blocks without a timeout: an idle usher makes no system calls).
    public var nextWakeup: Nanos? {
        var next: Nanos?
        if case .stopping(let until) = phase, mainSignalPending {
            next = until
        }
        if let deadline, !killedAtDeadline {
            next = min(next ?? deadline, deadline)
        }
        return next
    }

    public var isDone: Bool { phase == .done }

    public mutating func handle(_ event: Event, now: Nanos) -> [Action] {
        var out: [Action] = []
        switch event {
        case .start:
            break
        case .spawned(let i, let pid):
            states[i] = .running(pid: pid, since: now, signaledAt: nil)
            out.append(.log(.started(name: plan.processes[i].name, pid: pid)))
            if case .starting(let next) = phase, next == i { phase = .starting(i + 1) }
        case .spawnFailed(let i, let failure):
            states[i] = .failed
            out.append(.log(.startFailed(name: plan.processes[i].name, failure)))
            if exitCode == nil { exitCode = failure.code }
            beginShutdown(now: now, preStop: 0)
        case .exited(let i, let status):
            guard case .running(let pid, let since, let signaledAt) = states[i] else { break }
            states[i] = .exited
            let role = plan.processes[i].role
            out.append(.log(.exited(
                name: plan.processes[i].name, pid: pid, status, ran: now - since,
                afterSignal: signaledAt.map { now - $0 }, role: role,
                shuttingDown: deadline != nil)))
            if role == .main {
                if exitCode == nil { exitCode = status.code }
                // The main process ending by itself ends the container (the Job-with-sidecar
                // case); during a shutdown it lets the sidecars' turn begin.
                beginShutdown(now: now, preStop: 0)
            }
        case .signal(let sig):
            if isStopRequest(sig) {
                if deadline == nil {
                    out.append(.log(.signalReceived(sig, grace: plan.grace)))
                    if plan.preStop > 0 && isRunning(plan.mainIndex) {
                        out.append(.log(.preStop(plan.preStop)))
                    }
                    if exitCode == nil && !isRunning(plan.mainIndex) && !hasExited(plan.mainIndex) {
                        exitCode = 128 + sig  // stopped before the main process ever started
                    }
                    beginShutdown(now: now, preStop: plan.preStop)
                } else {
                    // A stop request during a shutdown neither restarts the preStop wait nor
                    // moves the deadline: the shutdown already under way is the one that counts.
                    out.append(.log(stopRequested ? .stopAlreadyUnderway(sig) : .stopJoinsShutdown(sig)))
                }
                stopRequested = true
            } else if let main = plan.mainIndex, case .running = states[main] {
                out.append(.signalProcess(main, sig))
            }
        case .tick:
            break
        }
        advance(now: now, into: &out)
        return out
    }

    // MARK: - Driving the phases forward

    private mutating func beginShutdown(now: Nanos, preStop: Nanos) {
        guard deadline == nil else { return }
        deadline = now + plan.grace
        phase = .stopping(preStopUntil: now + preStop)
    }

    /// Moves as far as the current state allows, appending the actions that takes.
    private mutating func advance(now: Nanos, into out: inout [Action]) {
        if let deadline, !killedAtDeadline, now >= deadline {
            killedAtDeadline = true
            for i in states.indices {
                if case .running(let pid, _, _) = states[i] {
                    out.append(.signalGroup(i, sigkill))
                    out.append(.log(.killedAtDeadline(name: plan.processes[i].name, pid: pid)))
                }
            }
        }
        switch phase {
        case .starting(let next):
            if next < plan.processes.count {
                out.append(.spawn(next))
            } else {
                phase = .running
            }
        case .running, .done:
            break
        case .stopping(let preStopUntil):
            if killedAtDeadline {
                // SIGKILL is out; only the reaping is left.
            } else if let main = plan.mainIndex, case .running(let pid, _, nil) = states[main] {
                if now >= preStopUntil { sendStop(main, pid: pid, signal: plan.stopSignal, now: now, into: &out) }
            } else if !isRunning(plan.mainIndex) {
                // The main process is gone: the sidecar that started last goes first, and the
                // next one waits until it has exited.
                if let i = states.lastIndex(where: { if case .running = $0 { return true } else { return false } }),
                   case .running(let pid, _, nil) = states[i]
                {
                    sendStop(i, pid: pid, signal: sigterm, now: now, into: &out)
                }
            }
            if !states.contains(where: { if case .running = $0 { return true } else { return false } }) {
                phase = .done
                let code = exitCode ?? 0
                out.append(.log(.exiting(code)))
                out.append(.exit(code))
            }
        }
    }

    private mutating func sendStop(_ i: Int, pid: Int32, signal: Int32, now: Nanos, into out: inout [Action]) {
        if case .running(let pid, let since, _) = states[i] {
            states[i] = .running(pid: pid, since: since, signaledAt: now)
        }
        out.append(.log(.stopping(name: plan.processes[i].name, pid: pid, signal: signal)))
        out.append(.signalGroup(i, signal))
    }

    private var mainSignalPending: Bool {
        guard let main = plan.mainIndex, case .running(_, _, nil) = states[main] else { return false }
        return true
    }

    private func isRunning(_ i: Int?) -> Bool {
        guard let i, case .running = states[i] else { return false }
        return true
    }

    private func hasExited(_ i: Int?) -> Bool {
        guard let i else { return false }
        return states[i] == .exited
    }
}
