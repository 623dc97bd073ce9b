/// Stopping containers, the kubelet's way (`kuberuntime_container_termination.go` doTerminate,
/// `kuberuntime_termination_order.go` waitForTurn): each container's preStop starts the moment
/// its stop begins; then it waits for its turn (a sidecar for every main container and every
/// later sidecar to have exited); then its stop signal; SIGKILL when its time is up.
///
/// Where usher is stricter than the kubelet: the kubelet gives every container at least
/// minimumGracePeriodInSeconds (2s) between its stop signal and SIGKILL by moving that SIGKILL
/// past the grace period when the preStop and the wait took it all. usher keeps the deadline
/// where it is and brings the stop signals forward instead: at `deadline - minStopWindow` every
/// container still waiting for its preStop or its turn gets its stop signal (its hook is ended),
/// so no process is ever killed less than the window after its stop signal, and the deadline
/// still comes before the kubelet's own SIGKILL.
extension Supervisor {
    /// How much before `deadline - window` the stop window's signals are sent: the loop wakes a
    /// little after the instant it asked for (well under a millisecond, p99), and that lateness
    /// must not come off the window a process is promised.
    static var windowLead: Nanos { 10_000_000 }

    /// The pod's shutdown: one deadline for everything, counted from now (the stop request, or
    /// the exit that ended the pod).
    mutating func beginShutdown(now: Nanos, into out: inout [Action]) {
        guard deadline == nil else { return }
        let end = later(now, by: plan.grace)
        deadline = end
        phase = .stopping
        let window = plan.minStopWindow
        let forceAt = plan.grace > window ? max(now, end - window - Supervisor.windowLead) : now
        if plan.grace <= window && containers.contains(where: { $0.state != .notStarted }) {
            out.append(.log(.graceShorterThanWindow(grace: plan.grace, window: window)))
        }
        for i in containers.indices {
            // Restarts waiting for their back-off are dropped, and only readiness is still
            // probed (the kubelet stops liveness and startup probes of a terminating pod).
            if case .waitingRestart = containers[i].state {
                containers[i].state = .notStarted
                // A main container waiting for its restart is not restarted: its last run's end
                // is its final one, and usher's status comes from it (a failure, not the 0 of a
                // pod whose mains all succeeded).
                if plan.containers[i].role == .main, let last = containers[i].lastExit {
                    mainEnded(i, last, stop: nil)
                    out.append(.log(.restartCancelled(name: name(i), last: last)))
                }
            }
            resetProbes(i, kinds: [.startup, .liveness], into: &out)
            guard isRunning(i) else { continue }
            if case .running = containers[i].postStart {
                out.append(.cancelHandler(i, .hook(.postStart)))
                containers[i].postStart = .done
            }
            if var stop = containers[i].stop {
                // Already being stopped to be restarted: it keeps its preStop and stop signal,
                // is not restarted, and is done by the pod's deadline at the latest.
                stop.reason = .shutdown
                stop.killAt = min(stop.killAt, end)
                stop.forceAt = min(stop.forceAt, forceAt)
                containers[i].stop = stop
            } else {
                beginStop(i, reason: .shutdown, killAt: end, forceAt: forceAt, now: now, into: &out)
            }
        }
    }

    /// Stops container `i` so that it restarts (a probe or its postStart failed): its preStop,
    /// its stop signal, SIGKILL once `grace` is up (the probe's or the pod's grace period).
    mutating func stopForRestart(_ i: Int, reason: StopReason, grace: Nanos, now: Nanos, into out: inout [Action]) {
        guard isRunning(i), containers[i].stop == nil else { return }
        resetProbes(i, kinds: [.startup, .liveness], into: &out)
        let killAt = later(now, by: grace)
        let forceAt = grace > plan.minStopWindow ? max(now, killAt - plan.minStopWindow - Supervisor.windowLead) : now
        beginStop(i, reason: reason, killAt: killAt, forceAt: forceAt, now: now, into: &out)
    }

    /// Starts its preStop (a sleep, or a handler the driver runs, ended at the stop window at the
    /// latest). With no time left before the window, no hook is started: its stop signal goes out
    /// now.
    private mutating func beginStop(_ i: Int, reason: StopReason, killAt: Nanos, forceAt: Nanos, now: Nanos,
                                    into out: inout [Action]) {
        guard let pid = pid(i) else { return }
        var stop = Stop(reason: reason, forceAt: forceAt, killAt: killAt)
        switch plan.containers[i].preStop {
        case nil:
            stop.preStop = .done
        case _? where now >= forceAt:
            stop.preStop = .done
        case .sleep(let wait)?:
            stop.preStop = .sleeping(since: now, until: later(now, by: wait))
            out.append(.log(.hookSleep(name: name(i), pid: pid, .preStop, wait: wait)))
        case _?:
            // The stop window ends it (and says so); the runner's own timeout is only a backstop.
            stop.preStop = .running(since: now, pid: nil)
            out.append(.runHandler(i, .hook(.preStop), timeout: killAt - now))
        }
        containers[i].stop = stop
    }

    /// A preStop handler ended (its result does not hold back the stop signal, as in Kubernetes).
    @inline(never)  // size: frame
    mutating func preStopDone(_ i: Int, _ result: HandlerResult, now: Nanos, into out: inout [Action]) {
        guard case .running(let since, let hookPid)? = containers[i].stop?.preStop else { return }
        out.append(.log(.hookEnded(name: name(i), .preStop, hookPid: hookPid, result, ran: now - since)))
        containers[i].stop?.preStop = .done
    }

    /// Whether container `i`'s turn to get its stop signal has come: a sidecar's comes once every
    /// main container and every sidecar started after it have exited, in the pod's shutdown; any
    /// other container's, and every container stopped to be restarted, at once. `bound` is
    /// `sidecarTurnBound()`, worked out once for all the containers of one step.
    func turnHasCome(_ i: Int, bound: Int) -> Bool {
        guard role(i) == .sidecar, containers[i].stop?.reason == .shutdown else { return true }
        return i >= bound
    }

    /// The lowest index whose sidecar's turn to stop has come: past every sidecar still active
    /// (running or being started; its own index, when it is the last), and none while a main
    /// container is active. One walk, where asking every waiting sidecar about every other
    /// container cost a walk each: the square of the pod's size per shutdown step.
    func sidecarTurnBound() -> Int {
        var bound = 0
        for i in containers.indices where isActive(i) {
            switch role(i) {
            case .main: return Int.max
            case .sidecar: bound = i
            case .initStep: continue
            }
        }
        return bound
    }

    /// Stop signals that are due, and SIGKILL for a container stopped to be restarted whose
    /// time is up.
    mutating func advanceStops(now: Nanos, into out: inout [Action]) {
        guard !killedAtDeadline else { return }
        var turnBound: Int?  // worked out when first needed
        for i in containers.indices {
            guard let pid = pid(i), var stop = containers[i].stop else { continue }
            if stop.signaledAt == nil {
                let bound = turnBound ?? sidecarTurnBound()
                turnBound = bound
                let windowCame = now >= stop.forceAt && (stop.preStop != .done || !turnHasCome(i, bound: bound))
                if windowCame || (stop.preStop == .done && turnHasCome(i, bound: bound)) {
                    // Read here, not for every container still waiting: reading a field of a
                    // plan entry copies all of it.
                    let sig = plan.containers[i].stopSignal
                    if windowCame {
                        let cutShort = stop.preStop != .done
                        if case .running = stop.preStop { out.append(.cancelHandler(i, .hook(.preStop))) }
                        stop.preStop = .done
                        let window = min(plan.minStopWindow, stop.killAt - now)
                        out.append(.log(.stopWindow(name: name(i), pid: pid, signal: sig, window: window, cutShort: cutShort)))
                    } else {
                        out.append(.log(.stopping(name: name(i), pid: pid, signal: sig)))
                    }
                    stop.signaledAt = now
                    stop.requested = stopRequested
                    out.append(.signalGroup(i, sig))
                }
            }
            if stop.reason != .shutdown, !stop.killed, now >= stop.killAt {
                stop.killed = true
                out.append(.signalGroup(i, sigkill))
                out.append(.log(.killedAtDeadline(name: name(i), pid: pid)))
            }
            containers[i].stop = stop
        }
    }

    /// The pod's deadline (or a forced stop): SIGKILL to every process still running, and its
    /// hooks end with it.
    mutating func killAtDeadline(now: Nanos, into out: inout [Action]) {
        guard let deadline, !killedAtDeadline, now >= deadline else { return }
        killedAtDeadline = true
        for i in containers.indices {
            guard let pid = pid(i) else { continue }
            out.append(.signalGroup(i, sigkill))
            out.append(.log(forced ? .killedOnRequest(name: name(i), pid: pid) : .killedAtDeadline(name: name(i), pid: pid)))
            if case .running = containers[i].postStart {
                out.append(.cancelHandler(i, .hook(.postStart)))
                containers[i].postStart = .done
            }
            if case .running? = containers[i].stop?.preStop {
                out.append(.cancelHandler(i, .hook(.preStop)))
            }
            containers[i].stop?.preStop = .done
            containers[i].stop?.killed = true
        }
    }
}
