/// The supervisor's probes, with Kubernetes' rules: a startup probe runs first and holds back
/// the others; it passes once and counts failures up to its threshold. Readiness and liveness
/// probes run from then on, each every `period`, a check at a time. Readiness only changes the
/// container's ready state (logged, and the gate a rehearsal waits for), and goes on while the
/// container is being stopped; a liveness or startup probe that fails its threshold stops the
/// container (preStop first) to be restarted, as the kubelet does.
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
        let process = plan.containers[i]
        containers[i].probes[0] = ProbeRun()
        containers[i].started = true
        for kind in [Plan.ProbeKind.readiness, .liveness] {
            if let probe = process.probe(kind) {
                containers[i].probes[Supervisor.slot(kind)] = ProbeRun(nextAt: max(later(since, by: probe.initialDelay), now))
            }
        }
        containers[i].ready = process.readinessProbe == nil
    }

    /// Stops these probes of container `i`, abandoning their checks under way.
    mutating func resetProbes(_ i: Int, kinds: [Plan.ProbeKind], into out: inout [Action]) {
        for kind in kinds {
            let s = Supervisor.slot(kind)
            if containers[i].probes[s].launchedAt != nil { out.append(.cancelHandler(i, .probe(kind))) }
            containers[i].probes[s] = ProbeRun()
        }
    }

    /// Asks for every check that is due.
    mutating func dueProbes(now: Nanos, into out: inout [Action]) {
        for i in containers.indices where isRunning(i) {
            for kind in Supervisor.kinds {
                let s = Supervisor.slot(kind)
                guard let at = containers[i].probes[s].nextAt, containers[i].probes[s].launchedAt == nil,
                      now >= at, let probe = plan.containers[i].probe(kind) else { continue }
                containers[i].probes[s].launchedAt = now
                out.append(.runHandler(i, .probe(kind), timeout: probe.timeout))
            }
        }
    }

    /// Whether this container is ready now (its readiness probe passed, or it has none and has
    /// passed its startup gate).
    public func isReady(_ i: Int) -> Bool {
        isRunning(i) && containers[i].started && containers[i].postStart == .done && containers[i].ready
    }

    mutating func probeResult(_ i: Int, _ kind: Plan.ProbeKind, _ result: HandlerResult,
                              now: Nanos, into out: inout [Action]) {
        let s = Supervisor.slot(kind)
        guard let probe = plan.containers[i].probe(kind), let launched = containers[i].probes[s].launchedAt,
              case .running(let pid, let since) = containers[i].state
        else { return }  // a result for a check that was abandoned
        containers[i].probes[s].launchedAt = nil
        containers[i].probes[s].nextAt = max(later(launched, by: probe.period), now)
        if result.passed {
            containers[i].probes[s].successes += 1
            containers[i].probes[s].failures = 0
        } else {
            containers[i].probes[s].failures += 1
            containers[i].probes[s].successes = 0
        }
        let run = containers[i].probes[s]
        switch kind {
        case .startup:
            if result.passed {
                out.append(.log(.startupProbePassed(name: name(i), pid: pid, after: now - since)))
                containers[i].everStarted = true
                activateProbes(i, since: since, now: now)
            } else if run.failures >= probe.failureThreshold {
                out.append(.log(.probeFailed(name: name(i), pid: pid, .startup, failures: run.failures, detail: result.detail)))
                out.append(.log(.stoppingForRestart(name: name(i), pid: pid, reason: "its startup probe failed",
                                                     restart: restartsAfterStop(i, killedByProbe: true))))
                stopForRestart(i, reason: .probe, grace: probe.terminationGrace ?? plan.grace, now: now, into: &out)
            }
        case .readiness:
            if !containers[i].ready && result.passed && run.successes >= probe.successThreshold {
                containers[i].ready = true
                out.append(.log(.ready(name: name(i), pid: pid)))
            } else if containers[i].ready && !result.passed && run.failures >= probe.failureThreshold {
                containers[i].ready = false
                out.append(.log(.notReady(name: name(i), pid: pid, detail: result.detail)))
            }
        case .liveness:
            if !result.passed && run.failures >= probe.failureThreshold {
                out.append(.log(.probeFailed(name: name(i), pid: pid, .liveness, failures: run.failures, detail: result.detail)))
                out.append(.log(.stoppingForRestart(name: name(i), pid: pid, reason: "its liveness probe failed",
                                                     restart: restartsAfterStop(i, killedByProbe: true))))
                stopForRestart(i, reason: .probe, grace: probe.terminationGrace ?? plan.grace, now: now, into: &out)
            }
        }
    }
}
