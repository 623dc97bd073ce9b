/// The supervisor as a pure state machine: events in, actions out, the time passed in. It never
/// makes a system call, so every ordering, gate, back-off and deadline rule is unit-tested with
/// a fake clock.
///
/// The lifecycle is the one Kubernetes gives the containers of a pod:
/// - start: init entries in order. An init step runs to completion (a non-zero exit stops the
///   startup); a sidecar starts and keeps running, and the next entry waits until its startup
///   probe has passed (at once without one). Then all main containers start.
/// - a sidecar that ends while the pod runs is restarted with the kubelet's back-off; so is one
///   whose liveness probe fails. A main container's failing liveness probe shuts down the pod
///   (the container engine restarts the container, as the kubelet would restart it).
/// - a stop request (SIGTERM, SIGINT, SIGQUIT) starts one grace deadline. Each main container's
///   preStop runs, then it gets its stop signal, all in parallel; once they have all exited, each
///   sidecar in reverse start order gets its preStop, then its stop signal, and is waited for
///   before the next.
/// - a main container ending by itself starts the same shutdown; usher's exit status is that of
///   the main container that ended first.
/// - at the deadline everything still running (preStop hooks too) gets SIGKILL, to its group.
/// - other signals are forwarded to the main containers.
/// - usher exits when nothing it started runs any more.
public struct Supervisor {
    public let plan: Plan

    enum RunState: Equatable {
        case notStarted
        /// The driver has been asked to start it and answers before any other event.
        case spawning
        case running(pid: Int32, since: Nanos, signaledAt: Nanos?)
        case exited(ExitStatus)
        case failed
        /// A sidecar that ended, to be started again at this instant.
        case waitingRestart(until: Nanos)
    }

    enum HookState: Equatable {
        case notBegun
        case sleeping(until: Nanos)
        case spawning
        case running(pid: Int32, since: Nanos)
        case done
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
        /// Its startup probe has passed in this run (or it has none): the gate is open.
        var started = false
        var ready = false
        var backoff = RestartBackoff()
        var restarts = 0
        var hook: HookState = .notBegun
        /// startup, readiness, liveness.
        var probes = [ProbeRun(), ProbeRun(), ProbeRun()]
        /// A sidecar stopped for a restart gets SIGKILL if it is still running at this instant.
        var killAt: Nanos?
    }

    enum Phase: Equatable {
        /// Working through the init entries; the one at this index is next or under way.
        case starting(Int)
        case running
        case stopping
        case done
    }

    var containers: [Container]
    var phase: Phase = .starting(0)
    /// The grace deadline, set when shutdown begins.
    var deadline: Nanos?
    var killedAtDeadline = false
    /// A stop signal has been received (the shutdown may also begin with a main's own exit).
    var stopRequested = false
    /// SIGINTs received: the third kills everything at once (see `signal`).
    var interrupts = 0
    /// The main container that holds the terminal (the driver sets it when usher hands the
    /// terminal on). A Ctrl-C reaches only the terminal's foreground group, so when this one
    /// dies of SIGINT before usher has seen one, that Ctrl-C counts as the first of three.
    public var terminalHolder: Int?
    /// The deadline was brought forward by a forced stop: kills are logged as such.
    var forced = false
    /// usher's exit status, decided by the first thing that settles it.
    var exitCode: Int32?

    public init(plan: Plan) {
        self.plan = plan
        self.containers = Array(repeating: Container(), count: plan.processes.count)
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
            if case .running = c.state { consider(c.killAt) }
            switch phase {
            case .starting, .running:
                if case .waitingRestart(let until) = c.state { consider(until) }
                for p in c.probes where p.launchedAt == nil { consider(p.nextAt) }
            case .stopping:
                if case .sleeping(let until) = c.hook { consider(until) }
            case .done:
                break
            }
        }
        return next
    }

    public mutating func handle(_ event: Event, now: Nanos) -> [Action] {
        var out: [Action] = []
        switch event {
        case .start, .tick:
            break
        case .spawned(let i, let pid):
            spawned(i, pid: pid, now: now, into: &out)
        case .spawnFailed(let i, let failure):
            containers[i].state = .failed
            out.append(.log(.startFailed(name: name(i), failure)))
            if plan.processes[i].role == .sidecar, containers[i].restarts > 0, deadline == nil {
                // A restart that cannot be made now (no processes or memory left, say) is tried
                // again with the back-off, as the kubelet does; the main containers keep running.
                scheduleRestart(i, ran: 0, now: now, into: &out)
                break
            }
            if exitCode == nil { exitCode = failure.code }
            beginShutdown(now: now, into: &out)
        case .exited(let i, let status):
            exited(i, status, now: now, into: &out)
        case .hookSpawned(let i, let hookPid):
            containers[i].hook = .running(pid: hookPid, since: now)
            if let p = pid(i) { out.append(.log(.preStopStarted(name: name(i), pid: p, hookPid: hookPid))) }
        case .hookFailed(let i, let failure):
            // As in Kubernetes, a preStop hook that fails does not hold back the stop signal.
            containers[i].hook = .done
            out.append(.log(.preStopFailed(name: name(i), failure)))
        case .hookExited(let i, let status):
            if case .running(let pid, let since) = containers[i].hook {
                out.append(.log(.preStopExited(name: name(i), hookPid: pid, status, ran: now - since)))
            }
            containers[i].hook = .done
        case .probeResult(let i, let kind, let passed, let detail):
            probeResult(i, kind, passed: passed, detail: detail, now: now, into: &out)
        case .signal(let sig):
            signal(sig, now: now, into: &out)
        }
        advance(now: now, into: &out)
        return out
    }

    // MARK: - Events

    private mutating func spawned(_ i: Int, pid: Int32, now: Nanos, into out: inout [Action]) {
        containers[i].state = .running(pid: pid, since: now, signaledAt: nil)
        containers[i].killAt = nil
        containers[i].hook = .notBegun
        out.append(.log(.started(name: name(i), pid: pid)))
        let process = plan.processes[i]
        if let startup = process.startupProbe {
            containers[i].started = false
            containers[i].probes[0] = ProbeRun(nextAt: later(now, by: startup.initialDelay))
        } else {
            containers[i].started = true
            activateProbes(i, since: now, now: now)
        }
    }

    private mutating func exited(_ i: Int, _ status: ExitStatus, now: Nanos, into out: inout [Action]) {
        guard case .running(let pid, let since, let signaledAt) = containers[i].state else { return }
        containers[i].state = .exited(status)
        containers[i].killAt = nil
        let role = plan.processes[i].role
        let shuttingDown = deadline != nil
        out.append(.log(.exited(
            name: name(i), pid: pid, status, ran: now - since,
            afterSignal: signaledAt.map { now - $0 }, role: role, shuttingDown: shuttingDown)))
        resetProbes(i, into: &out)
        containers[i].ready = false
        // A preStop hook runs inside its container in Kubernetes and ends with it.
        if case .running = containers[i].hook { out.append(.signalHook(i, sigkill)) }
        if i == terminalHolder, interrupts == 0, status == .signaled(sigint) || status == .exited(128 + sigint) {
            interrupts = 1
        }
        switch role {
        case .main:
            if exitCode == nil { exitCode = status.code }
            beginShutdown(now: now, into: &out)
        case .initStep:
            if !shuttingDown && status != .exited(0) {
                out.append(.log(.startupFailed(reason: "init container \(name(i)) failed with \(status.description)")))
                if exitCode == nil { exitCode = status.code }
                beginShutdown(now: now, into: &out)
            }
        case .sidecar:
            if !shuttingDown { scheduleRestart(i, ran: now - since, now: now, into: &out) }
        }
    }

    private mutating func signal(_ sig: Int32, now: Nanos, into out: inout [Action]) {
        guard isStopRequest(sig) else {
            guard !isReservedByLibc(sig) else { return }
            for i in plan.mainIndices where isRunning(i) { out.append(.signalProcess(i, sig)) }
            return
        }
        if deadline == nil {
            out.append(.log(.signalReceived(sig, grace: plan.grace)))
            let mainEverStarted = plan.mainIndices.contains { i in
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

    private mutating func scheduleRestart(_ i: Int, ran: Nanos, now: Nanos, into out: inout [Action]) {
        let delay = containers[i].backoff.next(ranFor: ran)
        containers[i].restarts += 1
        containers[i].state = .waitingRestart(until: later(now, by: delay))
        out.append(.log(.restartScheduled(name: name(i), delay: delay, restart: containers[i].restarts)))
    }

    /// Stops a sidecar so that it restarts (a probe failed): its stop signal now, SIGKILL after
    /// the probe's grace period (the pod's without one) if it is still running; its exit
    /// schedules the restart.
    mutating func stopForRestart(_ i: Int, grace: Nanos?, now: Nanos, into out: inout [Action]) {
        guard case .running(let pid, let since, nil) = containers[i].state else { return }
        containers[i].state = .running(pid: pid, since: since, signaledAt: now)
        containers[i].killAt = later(now, by: grace ?? plan.grace)
        out.append(.log(.stopping(name: name(i), pid: pid, signal: plan.processes[i].stopSignal)))
        out.append(.signalGroup(i, plan.processes[i].stopSignal))
    }

    // MARK: - Driving the phases forward

    mutating func beginShutdown(now: Nanos, into out: inout [Action]) {
        guard deadline == nil else { return }
        deadline = later(now, by: plan.grace)
        phase = .stopping
        // Probing ends with the pod's life; restarts waiting for their back-off are dropped.
        for i in containers.indices {
            resetProbes(i, into: &out)
            if case .waitingRestart = containers[i].state { containers[i].state = .notStarted }
        }
    }

    /// Moves as far as the current state allows, appending the actions that takes.
    private mutating func advance(now: Nanos, into out: inout [Action]) {
        if let deadline, !killedAtDeadline, now >= deadline {
            killedAtDeadline = true
            for i in containers.indices {
                if case .running(let pid, _, _) = containers[i].state {
                    out.append(.signalGroup(i, sigkill))
                    out.append(.log(forced ? .killedOnRequest(name: name(i), pid: pid) : .killedAtDeadline(name: name(i), pid: pid)))
                }
                if case .running = containers[i].hook { out.append(.signalHook(i, sigkill)) }
            }
        }
        for i in containers.indices {
            if let killAt = containers[i].killAt, now >= killAt, isRunning(i) {
                containers[i].killAt = nil
                out.append(.signalGroup(i, sigkill))
            }
        }
        switch phase {
        case .starting(let next):
            restartDue(now: now, into: &out)
            startNext(next, into: &out)
            dueProbes(now: now, into: &out)
        case .running:
            restartDue(now: now, into: &out)
            dueProbes(now: now, into: &out)
        case .stopping:
            if !killedAtDeadline { stopNext(now: now, into: &out) }
            let busy = containers.contains { c in
                switch (c.state, c.hook) {
                case (.running, _), (.spawning, _), (_, .running), (_, .spawning): return true
                default: return false
                }
            }
            if !busy {
                phase = .done
                let code = exitCode ?? 0
                out.append(.log(.exiting(code)))
                out.append(.exit(code))
            }
        case .done:
            break
        }
    }

    /// The startup order: each init entry in turn, then all main containers at once.
    private mutating func startNext(_ first: Int, into out: inout [Action]) {
        var i = first
        while i < plan.processes.count {
            let process = plan.processes[i]
            if process.role == .main {
                for m in i..<plan.processes.count where containers[m].state == .notStarted {
                    containers[m].state = .spawning
                    out.append(.spawn(m))
                }
                phase = .running
                return
            }
            phase = .starting(i)
            switch containers[i].state {
            case .notStarted:
                containers[i].state = .spawning
                out.append(.spawn(i))
                return
            case .exited(.exited(0)) where process.role == .initStep:
                i += 1
            case .running where process.role == .sidecar && containers[i].started:
                i += 1
            case .waitingRestart where process.role == .sidecar && containers[i].started:
                i += 1  // it passed its gate once; its restart does not hold back the others
            default:
                return  // under way: wait for its exit or its startup probe
            }
        }
        phase = .running
    }

    private mutating func restartDue(now: Nanos, into out: inout [Action]) {
        for i in containers.indices {
            if case .waitingRestart(let until) = containers[i].state, now >= until {
                containers[i].state = .spawning
                out.append(.spawn(i))
            }
        }
    }

    /// The shutdown's next steps: main containers (and an init step under way) first, all in
    /// parallel; then the sidecar that started last, which is waited for before the next.
    private mutating func stopNext(now: Nanos, into out: inout [Action]) {
        let front = containers.indices.filter { plan.processes[$0].role != .sidecar && isRunning($0) }
        if !front.isEmpty {
            for i in front { stopContainer(i, now: now, into: &out) }
        } else if let last = containers.indices.last(where: { plan.processes[$0].role == .sidecar && isRunning($0) }) {
            stopContainer(last, now: now, into: &out)
        }
    }

    /// One container's stop: its preStop (a sleep, or a command waited for), then its stop signal.
    private mutating func stopContainer(_ i: Int, now: Nanos, into out: inout [Action]) {
        guard case .running(let pid, let since, let signaledAt) = containers[i].state else { return }
        if containers[i].hook == .notBegun {
            switch plan.processes[i].preStop {
            case .sleep(let wait)?:
                containers[i].hook = .sleeping(until: later(now, by: wait))
                out.append(.log(.preStopSleep(name: name(i), pid: pid, wait: wait)))
            case .exec?:
                containers[i].hook = .spawning
                out.append(.spawnHook(i))
            case nil:
                containers[i].hook = .done
            }
        }
        if case .sleeping(let until) = containers[i].hook, now >= until { containers[i].hook = .done }
        // A container already signalled (stopped for a restart) is not signalled twice.
        guard containers[i].hook == .done, signaledAt == nil else { return }
        containers[i].state = .running(pid: pid, since: since, signaledAt: now)
        let sig = plan.processes[i].stopSignal
        out.append(.log(.stopping(name: name(i), pid: pid, signal: sig)))
        out.append(.signalGroup(i, sig))
    }

    // MARK: - Helpers

    func name(_ i: Int) -> String { plan.processes[i].name }

    func pid(_ i: Int) -> Int32? {
        if case .running(let pid, _, _) = containers[i].state { return pid }
        return nil
    }

    func isRunning(_ i: Int) -> Bool { pid(i) != nil }
}
