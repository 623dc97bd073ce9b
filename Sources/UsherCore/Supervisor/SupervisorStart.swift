/// Starting, postStart, exits and restarts: what the kubelet's start loop and its restart rules
/// (`kuberuntime_manager.go` computePodActions, `ShouldContainerBeRestarted`) do for one pod.
extension Supervisor {
    /// What happens to a container that has just ended.
    enum AfterExit: Equatable {
        /// Started again after the back-off.
        case restart
        /// A main container of a pod whose policy is Always: its exit ends the pod, and the
        /// engine above restarts the whole container (the one deliberate difference from the
        /// kubelet, which would restart it in place: see the README).
        case endPod
        /// Not restarted: an init container's failure stops the startup; a main container is
        /// done, and the pod ends once every main container is.
        case done
    }

    /// The kubelet's decision for container `i` ending with `status`: its restart rules first
    /// (KEP-5307, the first rule that matches the exit code restarts it), then its restart
    /// policy, its own or the pod's. After a failed liveness or startup probe (`killedByProbe`)
    /// the kubelet restarts unless the policy is Never, whatever the status.
    func afterExit(_ i: Int, _ status: ExitStatus, killedByProbe: Bool) -> AfterExit {
        let process = plan.containers[i]
        if process.role == .sidecar { return .restart }
        if process.restartRules.contains(where: { $0.matches(status.code) }) { return .restart }
        let policy = process.restartPolicy ?? plan.restartPolicy
        let restarts: Bool
        switch policy {
        case .always: restarts = true
        case .onFailure: restarts = killedByProbe || status.code != 0
        case .never: restarts = false
        }
        guard restarts else { return .done }
        return policy == .always && process.restartPolicy == nil ? .endPod : .restart
    }

    /// Whether container `i`, stopped because a probe failed (`killedByProbe`) or its postStart
    /// did, is restarted once it has exited, for the log that announces the stop: `afterExit`'s
    /// answer where it does not depend on the exit status to come, else nil. Out of line: three
    /// callers (two probes, postStart), all inlined into handle().
    @inline(never)  // size: shared
    func restartsAfterStop(_ i: Int, killedByProbe: Bool) -> Bool? {
        let process = plan.containers[i]
        if process.role == .sidecar { return true }
        switch process.restartPolicy ?? plan.restartPolicy {
        case .always: return true
        case .onFailure: return killedByProbe ? true : nil
        case .never: return process.restartRules.isEmpty ? false : nil
        }
    }

    mutating func spawned(_ i: Int, pid: Int32, now: Nanos, into out: inout [Action]) {
        containers[i].state = .running(pid: pid, since: now)
        containers[i].stop = nil
        containers[i].ready = false
        containers[i].started = plan.containers[i].startupProbe == nil
        out.append(.log(.started(name: name(i), pid: pid)))
        switch plan.containers[i].postStart {
        case nil:
            postStartFinished(i, now: now)
        case .sleep(let wait)?:
            containers[i].postStart = .sleeping(since: now, until: later(now, by: wait))
            out.append(.log(.hookSleep(name: name(i), pid: pid, .postStart, wait: wait)))
        case _?:
            // The kubelet gives a postStart no timeout of its own; usher bounds it by the grace
            // period, so that a hook that never returns cannot hold the startup forever.
            containers[i].postStart = .running(since: now, pid: nil)
            out.append(.runHandler(i, .hook(.postStart), timeout: plan.grace))
        }
    }

    mutating func spawnFailed(_ i: Int, _ failure: SpawnFailure, now: Nanos, into out: inout [Action]) {
        containers[i].state = .failed
        containers[i].lastExit = .exited(failure.code)
        out.append(.log(.startFailed(name: name(i), failure)))
        if containers[i].restarts > 0, deadline == nil {
            // A restart that cannot be made now (no processes or memory left, say) is tried
            // again with the back-off, as the kubelet does; the rest keeps running.
            scheduleRestart(i, ran: 0, now: now, into: &out)
            return
        }
        if exitCode == nil { exitCode = failure.code }
        beginShutdown(now: now, into: &out)
    }

    mutating func exited(_ i: Int, _ status: ExitStatus, now: Nanos, into out: inout [Action]) {
        guard case .running(let pid, let since) = containers[i].state else { return }
        let stop = containers[i].stop
        containers[i].state = .exited(status)
        containers[i].lastExit = status
        containers[i].stop = nil
        let role = plan.containers[i].role
        let shuttingDown = deadline != nil
        // Before anything else, so that the next Ctrl-C reaches usher (a third one forces the
        // stop) and not a group that is gone.
        if i == terminalHolder { out.append(.takeTerminalBack(group: pid)) }
        out.append(.log(.exited(
            name: name(i), pid: pid, status, ran: now - since,
            afterSignal: stop?.signaledAt.map { now - $0 }, role: role, shuttingDown: shuttingDown)))
        // The container ends with its leader, as the runtime ends a container's every process
        // with its init: what it left in its group or session is killed now, before anything
        // can restart it or start the next init entry (the actions below come after this one).
        // Not in the pod's shutdown: there its group got the stop signal with the leader, and a
        // member still ending on it is given until usher exits (the kernel kills what is left
        // of a PID 1's namespace, a subreaper sweeps every group it started), which nothing
        // waits for and which comes by the deadline.
        if !shuttingDown { out.append(.killLeftovers(i, leader: pid)) }
        // Its probes and hooks end with it (a hook runs inside its container in Kubernetes).
        resetProbes(i, kinds: Supervisor.kinds, into: &out)
        if case .running = containers[i].postStart { out.append(.cancelHandler(i, .hook(.postStart))) }
        if case .running? = stop?.preStop { out.append(.cancelHandler(i, .hook(.preStop))) }
        containers[i].postStart = .idle
        containers[i].ready = false
        if i == terminalHolder, interrupts == 0, status == .signaled(sigint) || status == .exited(128 + sigint) {
            interrupts = 1
        }
        let decision: AfterExit
        if shuttingDown {
            decision = .done
        } else if role == .initStep && status == .exited(0) {
            return  // the startup moves on
        } else {
            decision = afterExit(i, status, killedByProbe: stop?.reason == .probe)
        }
        // A main container's final exit (not one it is restarted after) is what the pod's
        // status is made of.
        if role == .main && decision != .restart { mainEnded(i, status, stop: stop) }
        guard !shuttingDown else { return }
        if decision == .restart {
            scheduleRestart(i, ran: now - since, now: now, into: &out)
        } else if role == .initStep {
            out.append(.log(.startupFailed(reason: "init container \(name(i)) failed with \(status.description)")))
            if exitCode == nil { exitCode = Plan.startupFailedStatus }
            beginShutdown(now: now, into: &out)
        } else if decision == .endPod {
            if exitCode == nil { exitCode = status.code }
            beginShutdown(now: now, into: &out)
        } else {
            containers[i].done = true
            let remaining = plan.mainIndices.filter { !containers[$0].done }.count
            if remaining == 0 {
                beginShutdown(now: now, into: &out)
            } else {
                out.append(.log(.mainDone(name: name(i), remaining: remaining)))
            }
        }
    }

    mutating func scheduleRestart(_ i: Int, ran: Nanos, now: Nanos, into out: inout [Action]) {
        let delay = containers[i].backoff.next(ranFor: ran)
        containers[i].restarts += 1
        containers[i].state = .waitingRestart(until: later(now, by: delay))
        out.append(.log(.restartScheduled(name: name(i), delay: delay, restart: containers[i].restarts)))
    }

    mutating func restartDue(now: Nanos, into out: inout [Action]) {
        for i in containers.indices {
            if case .waitingRestart(let until) = containers[i].state, now >= until {
                containers[i].state = .spawning
                out.append(.spawn(i))
            }
        }
    }

    /// The start order: each init entry in turn; then the main containers, each after the
    /// previous one's postStart (the kubelet starts them one after another, each start
    /// waiting for its postStart), all at once when they have none.
    mutating func startNext(_ first: Int, into out: inout [Action]) {
        var i = first
        while i < plan.containers.count {
            let process = plan.containers[i]
            if process.role == .main {
                for m in i..<plan.containers.count {
                    switch containers[m].state {
                    case .notStarted:
                        containers[m].state = .spawning
                        out.append(.spawn(m))
                        if plan.containers[m].postStart != nil { return }
                    case .running where containers[m].postStart != .done:
                        return  // the next waits for its postStart
                    default:
                        continue
                    }
                }
                phase = .running
                return
            }
            phase = .starting(i)
            let c = containers[i]
            switch c.state {
            case .notStarted:
                containers[i].state = .spawning
                out.append(.spawn(i))
                return
            case .exited(.exited(0)) where process.role == .initStep:
                i += 1
            case .running where process.role == .sidecar && c.started && c.postStart == .done && c.stop == nil:
                i += 1
            case .waitingRestart where process.role == .sidecar && c.everStarted:
                i += 1  // it passed its gate once; its restart does not hold back the others
            default:
                return  // under way: wait for its exit, its startup probe or its postStart
            }
        }
        phase = .running
    }

    // MARK: - Hooks

    @inline(never)  // size: frame
    mutating func hookStarted(_ i: Int, _ kind: Plan.HookKind, hookPid: Int32, into out: inout [Action]) {
        guard let pid = pid(i) else { return }
        switch kind {
        case .postStart:
            guard case .running(let since, nil) = containers[i].postStart else { return }
            containers[i].postStart = .running(since: since, pid: hookPid)
        case .preStop:
            guard case .running(let since, nil)? = containers[i].stop?.preStop else { return }
            containers[i].stop?.preStop = .running(since: since, pid: hookPid)
        }
        out.append(.log(.hookStarted(name: name(i), pid: pid, kind, hookPid: hookPid)))
    }

    /// A postStart ended: passed, the container goes on (its probes begin, the next container
    /// may start); failed, it is stopped (preStop first) and then restarted by its policy.
    mutating func postStartDone(_ i: Int, _ result: HandlerResult, now: Nanos, into out: inout [Action]) {
        guard case .running(let since, let hookPid) = containers[i].postStart, let pid = pid(i) else { return }
        out.append(.log(.hookEnded(name: name(i), .postStart, hookPid: hookPid, result, ran: now - since)))
        guard result.passed else {
            containers[i].postStart = .done
            out.append(.log(.stoppingForRestart(name: name(i), pid: pid, reason: "its postStart hook failed",
                                                 restart: restartsAfterStop(i, killedByProbe: false))))
            stopForRestart(i, reason: .postStart, grace: plan.grace, now: now, into: &out)
            return
        }
        postStartFinished(i, now: now)
    }

    /// Its postStart is through: its probes begin (the startup probe first, then readiness and
    /// liveness once that has passed).
    mutating func postStartFinished(_ i: Int, now: Nanos) {
        containers[i].postStart = .done
        guard case .running(_, let since) = containers[i].state else { return }
        if let startup = plan.containers[i].startupProbe {
            containers[i].probes[0] = ProbeRun(nextAt: max(later(since, by: startup.initialDelay), now))
        } else {
            containers[i].everStarted = true
            activateProbes(i, since: since, now: now)
        }
    }

    /// Sleeps that have run out: a postStart's (the container goes on), a preStop's (its stop
    /// signal may follow).
    mutating func advanceHooks(now: Nanos, into out: inout [Action]) {
        for i in containers.indices where isRunning(i) {
            if case .sleeping(_, let until) = containers[i].postStart, now >= until {
                postStartFinished(i, now: now)
            }
            if case .sleeping(_, let until)? = containers[i].stop?.preStop, now >= until {
                containers[i].stop?.preStop = .done
            }
        }
    }
}
