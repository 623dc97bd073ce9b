/// The observer of a rehearsal (`usher rehearse`): it watches the same events and actions the
/// supervisor exchanges with the driver in a normal run, and builds the timeline and verdicts of
/// the report from them. It never drives anything: the shutdown it reports on is the real one.
public struct Rehearsal: Equatable {
    public struct Process: Equatable {
        public var name: String
        public var role: Plan.Role
        public var pid: Int32?
        public var startedAt: Nanos?
        /// When it first became ready: its startup and readiness probes passed (or it had none).
        public var readyAt: Nanos?
        public var startFailure: SpawnFailure?
        /// When usher sent it its stop signal, and which.
        public var signaledAt: Nanos?
        public var signal: Int32?
        public var exitedAt: Nanos?
        public var status: ExitStatus?
        public var killedAtDeadline = false
        /// Its process group or session still had members when it exited (they were killed
        /// then), or after everything had exited.
        public var leftOrphans = false
    }

    public var processes: [Process]
    public let grace: Nanos
    public var startedAt: Nanos
    /// When the rehearsal sent the stop signal (as Kubernetes would), and which.
    public var stopAt: Nanos?
    public var stopSignal: Int32?
    public var finishedAt: Nanos?
    public var exitCode: Int32?
    /// Children of usher still alive after the shutdown that belong to no process group it
    /// started (a daemon that double-forked and left its group).
    public var strayOrphans = 0
    /// `--probe`: the URLs as given, and every request's outcome.
    public var probeURLs: [String] = []
    var requests: [RequestProber.Record] = []
    /// How long after the stop signal requests kept coming (`--probe-for`).
    public var probeFor: Nanos = 0
    /// A stop request from outside (not the rehearsal's own) came during the run: the run was
    /// interrupted and does not pass, whatever its processes did.
    public var interruptedBy: Int32?

    public init(plan: Plan, startedAt: Nanos) {
        processes = plan.containers.map { Process(name: $0.name, role: $0.role) }
        grace = plan.grace
        self.startedAt = startedAt
    }

    public mutating func observe(_ event: Event, at now: Nanos) {
        switch event {
        case .spawned(let i, let pid):
            processes[i].pid = pid
            processes[i].startedAt = now
        case .spawnFailed(let i, let failure):
            processes[i].startFailure = failure
        case .exited(let i, let status):
            processes[i].exitedAt = now
            processes[i].status = status
        case .leftoversKilled(let i, _, _):
            processes[i].leftOrphans = true
        case .signal(let sig) where stopAt == nil && isStopRequest(sig):
            stopAt = now
            stopSignal = sig
        default:
            break
        }
    }

    public mutating func observe(_ action: Action, at now: Nanos) {
        switch action {
        case .signalGroup(let i, let sig):
            if sig == sigkill {
                processes[i].killedAtDeadline = true
            } else if processes[i].signaledAt == nil {
                processes[i].signaledAt = now
                processes[i].signal = sig
            }
        case .exit(let code):
            finishedAt = now
            exitCode = code
        default:
            break
        }
    }

    // MARK: - Verdicts

    public enum Verdict: Equatable {
        case clean
        case endedBySignal(Int32)
        case exitedNonZero(ExitStatus)
        case killedAtDeadline
        case exitedBeforeStop(ExitStatus)
        case leftOrphans
        case couldNotStart(SpawnFailure)
        case neverStarted

        public var passes: Bool {
            switch self {
            case .clean, .endedBySignal: return true
            default: return false
            }
        }

        public var text: String {
            switch self {
            case .clean: return "exited cleanly in time"
            case .endedBySignal(let s): return "ended by \(signalName(s)) in time (no handler ran)"
            case .exitedNonZero(let st): return "exited with \(st.description)"
            case .killedAtDeadline: return "ignored its stop signal: killed at the deadline"
            case .exitedBeforeStop(let st): return "exited before the stop signal, with \(st.description)"
            case .leftOrphans: return "left orphans behind in its process group"
            case .couldNotStart(let f): return "could not be started: \(f.reason)"
            case .neverStarted: return "never started"
            }
        }

        /// A short machine name for the JSON report.
        public var key: String {
            switch self {
            case .clean: return "clean"
            case .endedBySignal: return "ended_by_signal"
            case .exitedNonZero: return "exited_non_zero"
            case .killedAtDeadline: return "killed_at_deadline"
            case .exitedBeforeStop: return "exited_before_stop"
            case .leftOrphans: return "left_orphans"
            case .couldNotStart: return "could_not_start"
            case .neverStarted: return "never_started"
            }
        }
    }

    /// The worst thing that can be said of one process: being killed at the deadline outweighs
    /// leaving orphans, which outweighs a non-zero status.
    @inline(never)  // size: shared
    public func verdict(_ i: Int) -> Verdict {
        let p = processes[i]
        if let failure = p.startFailure { return .couldNotStart(failure) }
        guard p.startedAt != nil, let status = p.status else { return .neverStarted }
        if p.killedAtDeadline { return .killedAtDeadline }
        if p.leftOrphans { return .leftOrphans }
        // An init container is meant to be through before anything else starts.
        if p.role == .initStep, status == .exited(0) { return .clean }
        if let stopAt, let exitedAt = p.exitedAt, exitedAt < stopAt { return .exitedBeforeStop(status) }
        switch status {
        case .exited(0): return .clean
        case .signaled(let s) where s == p.signal: return .endedBySignal(s)
        default: return .exitedNonZero(status)
        }
    }

    /// How long the shutdown took, from the stop signal to usher's exit.
    public var shutdownDuration: Nanos? {
        guard let stopAt, let finishedAt else { return nil }
        return finishedAt - stopAt
    }

    /// Whether a request belongs to the shutdown: it was in flight at the stop signal or sent
    /// after it (until `probeFor` ran out). Such a request must succeed: a load balancer still
    /// sends traffic until the pod's endpoint is gone, and what it sent must be answered.
    func inShutdown(_ r: RequestProber.Record) -> Bool {
        guard let stopAt else { return false }
        return r.endedAt >= stopAt && r.startedAt <= later(stopAt, by: probeFor)
    }

    /// For URL `url`: requests that belong to the shutdown, how many of those failed (dropped),
    /// and how many failed before the stop signal (the app was not up yet; not counted).
    @inline(never)  // size: shared
    func requestCounts(_ url: Int) -> (duringShutdown: Int, dropped: Int, failedBefore: Int) {
        var during = 0, dropped = 0, before = 0
        for r in requests where r.url == url {
            if inShutdown(r) {
                during += 1
                if !r.passed { dropped += 1 }
            } else if let stopAt, r.endedAt < stopAt, !r.passed {
                before += 1
            }
        }
        return (during, dropped, before)
    }

    /// Whether URL `url` got one passing answer before the stop signal. Without one the run
    /// proves nothing about dropped requests (nobody listened there, or the app never served
    /// it: a request that fails at once is never in flight at the stop), so it fails.
    func answeredBeforeStop(_ url: Int) -> Bool {
        guard let stopAt else { return false }
        return requests.contains { $0.url == url && $0.passed && $0.endedAt <= stopAt }
    }

    @inline(never)  // size: shared
    public var droppedRequests: Int {
        probeURLs.indices.reduce(0) { $0 + requestCounts($1).dropped }
    }

    @inline(never)  // size: shared
    public var passed: Bool {
        interruptedBy == nil && strayOrphans == 0 && stopAt != nil && droppedRequests == 0
            && processes.indices.allSatisfy { verdict($0).passes } && probeURLs.indices.allSatisfy(answeredBeforeStop)
    }
}
