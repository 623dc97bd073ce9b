/// The supervisor as a pure state machine: events in, actions out, the time passed in. It never
/// makes a system call, so every ordering, gate, back-off and deadline rule is unit-tested with
/// a fake clock.
///
/// The lifecycle is the kubelet's for the containers of one pod (README, "Kubelet parity"):
/// - start (SupervisorStart.swift): init entries in order. An init step runs to completion; a
///   sidecar keeps running, and the next entry waits until its startup probe has passed and its
///   postStart hook has completed. Then the main containers, each after the previous one's
///   postStart. Containers that end are restarted by their restart policy, with the kubelet's
///   back-off; a failed liveness or startup probe, or a failed postStart, stops the container
///   (preStop first) to be restarted.
/// - stop (SupervisorStop.swift): at the stop request every running container's preStop starts
///   at once; a main container (or an init step) gets its stop signal when its preStop ends, a
///   sidecar when its preStop has ended and every main container and every later sidecar has
///   exited. Everything still waiting at `deadline - minStopWindow` gets its stop signal then,
///   and at the deadline whatever still runs gets SIGKILL.
/// - other signals are forwarded to the main containers; usher exits when nothing runs.
public struct Supervisor {
    public let plan: Plan
    /// `plan.mainIndices`, computed once: that property filters the processes into a new array
    /// at each use, a heap allocation on every forwarded signal and every reaped child.
    public let mains: [Int]

    enum RunState: Equatable {
        case notStarted
        /// The driver has been asked to start it and answers before any other event.
        case spawning
        case running(pid: Int32, since: Nanos)
        case exited(ExitStatus)
        case failed
        /// Ended, to be started again at this instant (the kubelet's back-off).
        case waitingRestart(until: Nanos)
    }

    /// One run of a lifecycle hook.
    enum HookRun: Equatable {
        case idle
        case sleeping(since: Nanos, until: Nanos)
        /// Its handler runs in the driver; `pid` once its command has started.
        case running(since: Nanos, pid: Int32?)
        case done
    }

    /// Why a container is being stopped.
    enum StopReason: Equatable {
        /// The pod's shutdown: it is not restarted.
        case shutdown
        /// A liveness or startup probe failed: restarted unless its policy is Never.
        case probe
        /// Its postStart hook failed: its exit then goes by its restart policy.
        case postStart
    }

    /// A container being stopped: preStop first, then its stop signal, SIGKILL at `killAt`.
    struct Stop: Equatable {
        var reason: StopReason
        var preStop: HookRun = .idle
        var signaledAt: Nanos?
        /// Its stop signal went out after a stop request (not for a probe, a postStart, or a
        /// shutdown that a main container's own exit began): what `--stop-is-success` counts.
        var requested = false
        /// Its stop signal goes out at this instant at the latest, whatever it waits for: the
        /// stop window before `killAt`.
        var forceAt: Nanos
        var killAt: Nanos
        var killed = false
    }

    struct ProbeRun: Equatable {
        /// When the next check is due; nil while the probe is not active.
        var nextAt: Nanos?
        /// When the check under way began; nil when none is.
        var launchedAt: Nanos?
        var successes = 0
        var failures = 0
    }

    struct Container: Equatable {
        var state: RunState = .notStarted
        /// Its postStart in this run; `.done` once through, or at once without one.
        var postStart: HookRun = .idle
        /// Set while it is being stopped (for the shutdown, or to be restarted).
        var stop: Stop?
        /// Its startup probe has passed in this run (or it has none).
        var started = false
        /// It has passed its startup gate in some run: a sidecar's later restarts do not hold
        /// back the startup.
        var everStarted = false
        var ready = false
        var backoff = RestartBackoff()
        var restarts = 0
        /// startup, readiness, liveness.
        var probes = [ProbeRun(), ProbeRun(), ProbeRun()]
        /// A main container that exited and is not restarted.
        var done = false
        /// How its last run ended (a start that failed: its 126 or 127): what a main container
        /// waiting for its restart leaves as its final status if the shutdown comes first.
        var lastExit: ExitStatus?
    }

    /// A main container's final end, as usher's exit status is made of it.
    struct MainEnd: Equatable {
        var code: Int32
        /// It was ended by the stop signal usher sent it after a stop request (this signal):
        /// the only end `--stop-is-success` turns into 0.
        var stoppedBy: Int32?
    }

    enum Phase: Equatable {
        /// Working through the start order; the entry at this index is next or under way.
        case starting(Int)
        case running
        case stopping
        case done
    }

    var containers: [Container]
    var phase: Phase = .starting(0)
    /// The shutdown's deadline and the stop window's instant before it, set when it begins.
    var deadline: Nanos?
    var killedAtDeadline = false
    /// A stop signal has been received (the shutdown may also begin with a main's own exit).
    var stopRequested = false
    /// SIGINTs received: the third kills everything at once (see `signal`).
    var interrupts = 0
    /// The main container that holds the terminal, when usher has one to hand on: the first
    /// main container, the one a user types at. A Ctrl-C reaches only the terminal's foreground
    /// group, so when this one dies of SIGINT before usher has seen one, that Ctrl-C counts as
    /// the first of three; when it exits, the terminal goes back to usher (`.takeTerminalBack`).
    public let terminalHolder: Int?
    /// The deadline was brought forward by a forced stop: kills are logged as such.
    var forced = false
    /// usher's exit status where something settled it outright (a start that failed, an init
    /// container that failed, a main container that ended a pod whose policy is Always).
    var exitCode: Int32?
    /// The end of the first main container to exit, and of the first to fail.
    var firstMainExit: MainEnd?
    var firstMainFailure: MainEnd?

    /// `terminal`: usher holds the foreground of a terminal, which its first main container takes.
    public init(plan: Plan, terminal: Bool = false) {
        self.plan = plan
        self.mains = plan.mainIndices
        terminalHolder = terminal ? mains.first : nil
        self.containers = Array(repeating: Container(), count: plan.containers.count)
    }

    public var isDone: Bool { phase == .done }

    /// The next instant at which the supervisor wants a `.tick`, or nil when nothing is due
    /// (then the driver blocks without a timeout: an idle usher makes no system calls, apart
    /// from the probes' own periods).
    public var nextWakeup: Nanos? {
        var next: Nanos?
        func consider(_ t: Nanos?) {
            if let t { next = min(next ?? t, t) }
        }
        if !killedAtDeadline { consider(deadline) }
        for c in containers {
            if case .waitingRestart(let until) = c.state, phase != .stopping { consider(until) }
            guard case .running = c.state else { continue }
            if case .sleeping(_, let until) = c.postStart { consider(until) }
            if let stop = c.stop {
                if case .sleeping(_, let until) = stop.preStop { consider(until) }
                if stop.signaledAt == nil { consider(stop.forceAt) }
                if !stop.killed && !killedAtDeadline { consider(stop.killAt) }
            }
            for p in c.probes where p.launchedAt == nil { consider(p.nextAt) }
        }
        return next
    }

    public mutating func handle(_ event: Event, now: Nanos) -> [Action] {
        var out: [Action] = []
        handle(event, now: now, into: &out)
        return out
    }

    /// The same into the caller's buffer (the driver's, reused: no allocation per event).
    public mutating func handle(_ event: Event, now: Nanos, into out: inout [Action]) {
        switch event {
        case .start, .tick:
            break
        case .spawned(let i, let pid):
            spawned(i, pid: pid, now: now, into: &out)
        case .spawnFailed(let i, let failure):
            spawnFailed(i, failure, now: now, into: &out)
        case .exited(let i, let status):
            exited(i, status, now: now, into: &out)
        case .handlerStarted(let i, .hook(let kind), let hookPid):
            hookStarted(i, kind, hookPid: hookPid, into: &out)
        case .handlerStarted:
            break
        case .handlerDone(let i, .probe(let kind), let result):
            probeResult(i, kind, result, now: now, into: &out)
        case .handlerDone(let i, .hook(.postStart), let result):
            postStartDone(i, result, now: now, into: &out)
        case .handlerDone(let i, .hook(.preStop), let result):
            preStopDone(i, result, now: now, into: &out)
        case .oomKills(let limit, let reaped, let status):
            oomKills(reaped: reaped, status, limit: limit, into: &out)
        case .leftoversKilled(let i, let leader, let count):
            out.append(.log(.leftoversKilled(name: name(i), pid: leader, count: count)))
        case .signal(let sig):
            signal(sig, now: now, into: &out)
        case .statusFileWrite(let path, let problem):
            out.append(.log(.statusFile(path: path, problem: problem)))
        }
        advance(now: now, into: &out)
    }

    // MARK: - Signals

    /// The decision for a signal that is not a stop request, on its own: it goes to every
    /// running main container (`each` is called with its index: the driver sends it there), and
    /// nothing else follows from it, since it changes no state. The driver's fast path for a
    /// forwarded signal, which then skips the rest of an event (`handle`'s `advance` finds
    /// nothing new: whatever is due at a later instant has the timer armed for it). Returns
    /// false, deciding nothing, for a stop request: that one is a full event (`handle`).
    public func forward(_ sig: Int32, to each: (Int) -> Void) -> Bool {
        guard !isStopRequest(sig) else { return false }
        guard !isReservedByLibc(sig) else { return true }
        for i in mains where isRunning(i) { each(i) }
        return true
    }

    private mutating func signal(_ sig: Int32, now: Nanos, into out: inout [Action]) {
        if forward(sig, to: { out.append(.signalProcess($0, sig)) }) { return }
        if deadline == nil {
            out.append(.log(.signalReceived(sig, grace: plan.grace)))
            let mainEverStarted = mains.contains { i in
                switch containers[i].state {
                case .notStarted, .failed: return false
                default: return true
                }
            }
            if exitCode == nil && !mainEverStarted { exitCode = 128 + sig }
            beginShutdown(now: now, into: &out)
        } else {
            // A stop request during a shutdown neither restarts the preStop wait nor moves the
            // deadline: the shutdown already under way is the one that counts.
            out.append(.log(stopRequested ? .stopAlreadyUnderway(sig) : .stopJoinsShutdown(sig)))
        }
        stopRequested = true
        // Ctrl-C pressed a third time at a terminal means "now", as compose tools take it: the
        // deadline comes at once. A second one, like a repeated SIGTERM, changes nothing.
        if sig == sigint {
            interrupts += 1
            if interrupts == 3 && !killedAtDeadline {
                out.append(.log(.forcedStop(sig, times: interrupts)))
                deadline = now
                forced = true
            }
        }
    }

    // MARK: - OOM kills

    /// The cgroup's oom_kill count grew, as read when a child was reaped. The count is the whole
    /// container's, so the kill is credited to a process only when the growth was seen at that
    /// process's own death and the death was a SIGKILL usher did not send. Growth seen at any
    /// other reap (an orphan, a probe's or hook's command, an exit that was no SIGKILL, a SIGKILL
    /// of usher's) is an OOM kill in the container, named to no process; it was read at that
    /// reap, so a later SIGKILL death (an operator's `kill -9` of a sidecar) is not credited
    /// with it.
    private func oomKills(reaped: Int?, _ status: ExitStatus, limit: MemoryLimit?, into out: inout [Action]) {
        var record = LogRecord.oomKillInContainer(limit: limit)
        if let i = reaped, let pid = pid(i), status == .signaled(sigkill), !killedByUsher(i) {
            record = .oomKilled(name: name(i), pid: pid, limit: limit)
        }
        out.append(.log(record))  // one append: each inlined copy of one costs code
    }

    /// usher sent this run of container `i` SIGKILL: its stop's time was up, or the pod's
    /// deadline came (which kills everything then running; nothing starts after it).
    func killedByUsher(_ i: Int) -> Bool { containers[i].stop?.killed == true || killedAtDeadline }

    // MARK: - Moving on

    /// Moves as far as the current state allows, appending the actions that takes.
    private mutating func advance(now: Nanos, into out: inout [Action]) {
        advanceHooks(now: now, into: &out)
        // Stop signals first, so that a deadline that has come (a grace period of 0) still
        // finds each process signalled before its SIGKILL; a forced stop skips them.
        if !forced { advanceStops(now: now, into: &out) }
        killAtDeadline(now: now, into: &out)
        switch phase {
        case .starting(let next):
            restartDue(now: now, into: &out)
            startNext(next, into: &out)
            dueProbes(now: now, into: &out)
        case .running:
            restartDue(now: now, into: &out)
            dueProbes(now: now, into: &out)
        case .stopping:
            dueProbes(now: now, into: &out)
            let busy = containers.contains { c in
                switch c.state {
                case .running, .spawning: return true
                default: return false
                }
            }
            if !busy {
                phase = .done
                let code = finalStatus()
                out.append(.log(.exiting(code)))
                out.append(.exit(code))
            }
        case .done:
            break
        }
    }

    /// usher's exit status: what settled it outright, else the main containers' (the first to
    /// exit under Always, the first failure otherwise); then `--stop-is-success` and
    /// `--remap-exit`. A sidecar or a hook the deadline had to kill does not change it: as for
    /// the kubelet, a pod whose main containers succeeded succeeded (the log and the termination
    /// message say what was killed). `--stop-is-success` counts only a main container that the
    /// stop signal usher sent after a stop request ended: not one that died of that signal by
    /// itself before the request came, nor a stop with no main container running.
    func finalStatus() -> Int32 {
        let end = plan.restartPolicy == .always ? firstMainExit : firstMainFailure
        var code = exitCode ?? end?.code ?? 0
        if plan.stopIsSuccess, exitCode == nil, let sig = end?.stoppedBy, code == 128 + sig { code = 0 }
        if plan.successCodes.contains(code) { code = 0 }
        return code
    }

    /// Records main container `i`'s final end (not one it is restarted after). Out of line: it
    /// is called from exited() (inlined into handle()) and from beginShutdown().
    @inline(never)  // size: shared
    mutating func mainEnded(_ i: Int, _ status: ExitStatus, stop: Stop?) {
        var end = MainEnd(code: status.code)
        if let stop, stop.requested, stop.signaledAt != nil { end.stoppedBy = plan.containers[i].stopSignal }
        if firstMainExit == nil { firstMainExit = end }
        if firstMainFailure == nil && end.code != 0 { firstMainFailure = end }
    }

    // MARK: - Helpers

    // Through the array's storage: `plan.containers[i].name` copies the whole entry (its argv,
    // environment, probes) to read one field and releases it again, and the walks over every
    // container that each step makes read a role for each (in a shutdown of 256 sidecars, most
    // of what a step cost).
    func name(_ i: Int) -> String { plan.containers.withUnsafeBufferPointer { $0[i].name } }
    func role(_ i: Int) -> Plan.Role { plan.containers.withUnsafeBufferPointer { $0[i].role } }

    func pid(_ i: Int) -> Int32? {
        if case .running(let pid, _) = containers[i].state { return pid }
        return nil
    }

    func isRunning(_ i: Int) -> Bool { pid(i) != nil }

    /// Running, or being started: what a sidecar's turn to stop waits for.
    func isActive(_ i: Int) -> Bool {
        switch containers[i].state {
        case .running, .spawning: return true
        default: return false
        }
    }
}
