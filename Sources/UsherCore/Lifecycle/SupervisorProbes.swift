/// The supervisor's probes, with Kubernetes' rules: a startup probe runs first and holds back
/// the others; it passes once and counts failures up to its threshold. Readiness and liveness
/// probes run from then on, each every `period`, a check at a time. Readiness only changes the
/// container's ready state (logged, and the gate a rehearsal waits for); liveness failures
/// restart a sidecar and shut down the pod for a main container.
extension Supervisor {
    static func slot(_ kind: Plan.ProbeKind) -> Int {
        switch kind {
        case .startup: return 0
        case .readiness: return 1
        case .liveness: return 2
        }
    }

    static var kinds: [Plan.ProbeKind] { [.startup, .readiness, .liveness] }

    /// The startup gate is open: readiness and liveness probes begin, each `initialDelay` after
    /// the container started (at once if that has passed). Without a readiness probe the
    /// container is ready now, as in Kubernetes.
    mutating func activateProbes(_ i: Int, since: Nanos, now: Nanos) {
        let process = plan.processes[i]
        containers[i].probes[0] = ProbeRun()
        for kind in [Plan.ProbeKind.readiness, .liveness] {
            if let probe = process.probe(kind) {
                containers[i].probes[Supervisor.slot(kind)] = ProbeRun(nextAt: max(later(since, by: probe.initialDelay), now))
            }
        }
        containers[i].ready = process.readinessProbe == nil
    }

    /// Stops every probe of this container, abandoning the checks under way.
    mutating func resetProbes(_ i: Int, into out: inout [Action]) {
        if containers[i].probes.contains(where: { $0.launchedAt != nil }) { out.append(.cancelProbes(i)) }
        containers[i].probes = [ProbeRun(), ProbeRun(), ProbeRun()]
    }

    /// Asks for every check that is due.
    mutating func dueProbes(now: Nanos, into out: inout [Action]) {
        for i in containers.indices where isRunning(i) {
            for kind in Supervisor.kinds {
                let s = Supervisor.slot(kind)
                guard let at = containers[i].probes[s].nextAt, containers[i].probes[s].launchedAt == nil,
                      now >= at else { continue }
                containers[i].probes[s].launchedAt = now
                out.append(.runProbe(i, kind))
            }
        }
    }

    /// Whether this container is ready now (its readiness probe passed, or it has none and has
    /// passed its startup gate).
    public func isReady(_ i: Int) -> Bool { isRunning(i) && containers[i].started && containers[i].ready }

    mutating func probeResult(_ i: Int, _ kind: Plan.ProbeKind, passed: Bool, detail: String,
                              now: Nanos, into out: inout [Action]) {
        let s = Supervisor.slot(kind)
        guard let probe = plan.processes[i].probe(kind), let launched = containers[i].probes[s].launchedAt,
              case .running(let pid, let since, _) = containers[i].state
        else { return }  // a result for a check that was abandoned
        containers[i].probes[s].launchedAt = nil
        containers[i].probes[s].nextAt = max(later(launched, by: probe.period), now)
        if passed {
            containers[i].probes[s].successes += 1
            containers[i].probes[s].failures = 0
        } else {
            containers[i].probes[s].failures += 1
            containers[i].probes[s].successes = 0
        }
        let run = containers[i].probes[s]
        switch kind {
        case .startup:
            if passed {
                containers[i].started = true
                out.append(.log(.startupProbePassed(name: name(i), pid: pid, after: now - since)))
                activateProbes(i, since: since, now: now)
            } else if run.failures >= probe.failureThreshold {
                containers[i].probes[s] = ProbeRun()
                out.append(.log(.probeFailed(name: name(i), pid: pid, .startup, failures: run.failures, detail: detail)))
                failed(i, probe, reason: "the startup probe of \(name(i)) failed \(times(run.failures))", now: now, into: &out)
            }
        case .readiness:
            if !containers[i].ready && passed && run.successes >= probe.successThreshold {
                containers[i].ready = true
                out.append(.log(.ready(name: name(i), pid: pid)))
            } else if containers[i].ready && !passed && run.failures >= probe.failureThreshold {
                containers[i].ready = false
                out.append(.log(.notReady(name: name(i), pid: pid, detail: detail)))
            }
        case .liveness:
            if !passed && run.failures >= probe.failureThreshold {
                containers[i].probes[s] = ProbeRun()
                out.append(.log(.probeFailed(name: name(i), pid: pid, .liveness, failures: run.failures, detail: detail)))
                if plan.processes[i].role == .sidecar {
                    resetProbes(i, into: &out)
                    stopForRestart(i, grace: probe.terminationGrace, now: now, into: &out)
                } else {
                    // The container engine (or the kubelet above it) restarts the container.
                    beginShutdown(now: now, into: &out)
                }
            }
        }
    }

    /// A container's startup probe never passed. During the startup that stops the startup,
    /// as a sidecar that never comes up would hold the pod back forever; a sidecar restarted
    /// later is stopped and restarted again, as the kubelet does.
    private mutating func failed(_ i: Int, _ probe: Plan.Probe, reason: String, now: Nanos, into out: inout [Action]) {
        if plan.processes[i].role == .sidecar, case .running = phase {
            resetProbes(i, into: &out)
            stopForRestart(i, grace: probe.terminationGrace, now: now, into: &out)
            return
        }
        out.append(.log(.startupFailed(reason: reason)))
        if exitCode == nil { exitCode = 1 }
        beginShutdown(now: now, into: &out)
    }
}
