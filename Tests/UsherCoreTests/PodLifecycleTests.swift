import Testing
@testable import UsherCore

// The Pod-spec lifecycle on the fake clock: init containers, sidecar gates, probes, restarts
// with back-off, preStop hooks, several main containers.

func proc(_ name: String, _ role: Plan.Role, _ edit: (inout Plan.Process) -> Void = { _ in }) -> Plan.Process {
    var p = Plan.Process(name: name, argv: [name], role: role)
    edit(&p)
    return p
}

func probe(_ check: Plan.Probe.Check = .exec(["check"]), period: Nanos = 1 * second, failures: Int = 3,
           successes: Int = 1, delay: Nanos = 0) -> Plan.Probe {
    var p = Plan.Probe(check: check)
    p.period = period
    p.failureThreshold = failures
    p.successThreshold = successes
    p.initialDelay = delay
    return p
}

extension Harness {
    /// The probe checks asked for since `mark`.
    func probeRuns(since mark: Int = 0) -> [Action] {
        actions[mark...].filter { if case .runProbe = $0 { return true } else { return false } }
    }
}

@Suite struct InitContainers {
    /// init "migrate", sidecar "proxy", init "seed", main "app" (indexes 0...3).
    func plan(_ proxy: (inout Plan.Process) -> Void = { _ in }) -> Plan {
        Plan(processes: [proc("migrate", .initStep), proc("proxy", .sidecar, proxy), proc("seed", .initStep), proc("app", .main)])
    }

    @Test func eachRunsToCompletionBeforeTheNext() {
        var h = Harness(plan())
        #expect(h.signals() == [.spawn(0)], "nothing else starts while the first init container runs")
        h.send(.exited(0, .exited(0)))
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2)], "a sidecar without a startup probe opens its gate at once")
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .spawn(3))
        #expect(h.supervisor.nextWakeup == nil)
    }

    @Test func aFailedInitContainerStopsStartupWithItsStatus() {
        var h = Harness(plan())
        h.send(.exited(0, .exited(0)))
        h.send(.exited(2, .exited(3)))
        #expect(h.logs().contains(.startupFailed(reason: "init container seed failed with status 3")))
        #expect(!h.signals().contains(.spawn(3)), "the main container never starts")
        #expect(h.signals().last == .signalGroup(1, sigterm), "the sidecar already started is stopped")
        h.send(.exited(1, .signaled(sigterm)))
        #expect(h.exitCode == 3)
    }

    @Test func aStopRequestDuringAnInitContainerStopsIt() {
        var h = Harness(plan())
        h.send(.signal(sigterm))
        #expect(h.signals() == [.spawn(0), .signalGroup(0, sigterm)])
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 143, "stopped before any main container started")
    }

    @Test func initContainersAreNotRestarted() {
        var h = Harness(plan())
        h.send(.exited(0, .exited(0)))
        h.send(.exited(2, .exited(0)))
        h.advance(to: 3600 * second)
        #expect(h.signals().filter { $0 == .spawn(0) || $0 == .spawn(2) }.count == 2)
    }
}

@Suite struct SidecarGates {
    func gated(_ check: Plan.Probe.Check = .exec(["ready"]), failures: Int = 3, delay: Nanos = 0) -> Plan {
        Plan(processes: [
            proc("proxy", .sidecar) { $0.startupProbe = probe(check, failures: failures, delay: delay) },
            proc("app", .main),
        ])
    }

    @Test func theNextStartsOnceTheStartupProbePasses() {
        var h = Harness(gated(delay: 500 * ms))
        #expect(h.signals() == [.spawn(0)])
        #expect(h.supervisor.nextWakeup == 500 * ms, "the first check waits for initialDelaySeconds")
        h.advance(to: 500 * ms)
        #expect(h.probeRuns() == [.runProbe(0, .startup)])
        #expect(h.supervisor.nextWakeup == nil, "one check at a time: the driver answers within its timeout")
        h.now = 600 * ms
        h.send(.probeResult(0, .startup, passed: false, detail: "connection refused"))
        #expect(!h.signals().contains(.spawn(1)))
        #expect(h.supervisor.nextWakeup == 1500 * ms, "every periodSeconds, counted from the start of the last check")
        h.advance(to: 1500 * ms)
        h.send(.probeResult(0, .startup, passed: true, detail: "HTTP 200"))
        #expect(h.signals().last == .spawn(1))
        #expect(h.logs().contains(.startupProbePassed(name: "proxy", pid: 100, after: 1500 * ms)))
        #expect(h.supervisor.nextWakeup == nil, "a passed startup probe is not run again")
    }

    @Test func aStartupProbeThatNeverPassesStopsStartup() {
        var h = Harness(gated(failures: 3))
        for n in 0..<3 {
            h.advance(to: Nanos(n) * second)
            h.send(.probeResult(0, .startup, passed: false, detail: "timed out after 1s"))
        }
        #expect(h.logs().contains(.probeFailed(name: "proxy", pid: 100, .startup, failures: 3, detail: "timed out after 1s")))
        #expect(h.logs().contains(.startupFailed(reason: "the startup probe of proxy failed 3 times")))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        #expect(!h.signals().contains(.spawn(1)))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 1)
    }

    @Test func aGatedSidecarThatDiesIsRestartedAndStillGates() {
        var h = Harness(gated())
        h.now = 200 * ms
        h.send(.exited(0, .exited(1)))
        #expect(h.signals().filter { if case .spawn = $0 { return true } else { return false } } == [.spawn(0), .spawn(0)],
                "restarted at once (first restart)")
        #expect(!h.signals().contains(.spawn(1)))
        h.advance(to: 200 * ms)
        h.send(.probeResult(0, .startup, passed: true, detail: "ok"))
        #expect(h.signals().last == .spawn(1))
    }

    @Test func aResultForAnAbandonedCheckIsIgnored() {
        var h = Harness(gated())
        h.send(.exited(0, .exited(1)))  // the check under way is abandoned with the process
        #expect(h.signals().contains(.cancelProbes(0)))
        h.send(.exited(0, .exited(1)))  // restarted at once, ended again: now 10s of back-off
        h.send(.probeResult(0, .startup, passed: true, detail: "late"))
        #expect(!h.signals().contains(.spawn(1)), "the late answer belongs to the old run")
    }
}

@Suite struct Restarts {
    @Test func backoffScheduleIsTheKubelets() {
        var b = RestartBackoff()
        let delays = (0..<9).map { _ in b.next(ranFor: 1 * second) }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300, 300].map { $0 * second })
        #expect(b.next(ranFor: 600 * second) == 0, "ten minutes of running resets it")
        #expect(b.next(ranFor: 1 * second) == 10 * second)
    }

    @Test func aCrashingSidecarIsRestartedOnTheScheduleWithoutStoppingTheMain() {
        var h = Harness(Plan(processes: [proc("log", .sidecar), proc("app", .main)]))
        var pid: Int32 = 100
        var spawnTimes: [Nanos] = []
        for _ in 0..<4 {
            h.send(.exited(0, .exited(1)))
            if let wake = h.supervisor.nextWakeup { h.advance(to: wake) }
            spawnTimes.append(h.now)
            pid = h.nextPid - 1
            #expect(h.supervisor.pid(0) == pid)
        }
        // Each exit happens right after its start here: 0s, then 10s, 20s, 40s of back-off.
        #expect(spawnTimes == [0, 10 * second, 30 * second, 70 * second])
        #expect(h.logs().contains(.restartScheduled(name: "log", delay: 40 * second, restart: 4)))
        #expect(!h.signals().contains(.signalGroup(1, sigterm)))
    }

    @Test func aStopRequestCancelsAPendingRestart() {
        var h = Harness(Plan(processes: [proc("log", .sidecar), proc("app", .main)]))
        h.send(.exited(0, .exited(1)))
        h.send(.exited(0, .exited(1)))  // now waiting 10s
        h.now = 1 * second
        h.send(.signal(sigterm))
        h.send(.exited(1, .signaled(sigterm)))
        #expect(h.exitCode == 143)
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 2)
    }

    @Test func aFailingLivenessProbeRestartsASidecarWithSIGKILLAfterTheGrace() {
        let plan = Plan(processes: [
            proc("proxy", .sidecar) { $0.livenessProbe = probe(failures: 2); $0.stopSignal = sigquit },
            proc("app", .main),
        ], grace: 5 * second)
        var h = Harness(plan)
        #expect(h.probeRuns() == [.runProbe(0, .liveness)], "liveness starts at once without a startup probe")
        h.send(.probeResult(0, .liveness, passed: false, detail: "HTTP 500"))
        h.advance(to: 1 * second)
        h.send(.probeResult(0, .liveness, passed: false, detail: "HTTP 500"))
        #expect(h.logs().contains(.probeFailed(name: "proxy", pid: 100, .liveness, failures: 2, detail: "HTTP 500")))
        #expect(h.signals().last == .signalGroup(0, sigquit), "its own stop signal")
        h.advance(to: 6 * second)
        #expect(h.signals().last == .signalGroup(0, sigkill), "still running after the grace period")
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 2, "and restarted")
        #expect(h.exitCode == nil)
    }

    @Test func aFailingLivenessProbeOfTheMainShutsThePodDown() {
        var h = Harness(Plan(processes: [proc("log", .sidecar), proc("app", .main) { $0.livenessProbe = probe(failures: 1) }]))
        h.send(.probeResult(1, .liveness, passed: false, detail: "connection refused"))
        #expect(h.signals().last == .signalGroup(1, sigterm))
        h.send(.exited(1, .signaled(sigterm)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 143)
    }
}

@Suite struct Readiness {
    @Test func transitionsAreLoggedWithThresholds() {
        var h = Harness(Plan(processes: [proc("app", .main) {
            $0.readinessProbe = probe(failures: 2, successes: 2, delay: 1 * second)
        }]))
        #expect(!h.supervisor.isReady(0))
        #expect(h.supervisor.nextWakeup == 1 * second)
        for (t, passed) in [(1, true), (2, true), (3, false), (4, false), (5, true)] {
            h.advance(to: Nanos(t) * second)
            h.send(.probeResult(0, .readiness, passed: passed, detail: passed ? "ok" : "HTTP 503"))
            if t == 1 { #expect(!h.supervisor.isReady(0), "successThreshold 2") }
        }
        let changes = h.logs().filter {
            switch $0 { case .ready, .notReady: return true; default: return false }
        }
        #expect(changes == [.ready(name: "app", pid: 100), .notReady(name: "app", pid: 100, detail: "HTTP 503")])
        #expect(!h.supervisor.isReady(0))
    }

    @Test func withoutAReadinessProbeAStartedContainerIsReady() {
        let h = Harness(Plan(processes: [proc("app", .main)]))
        #expect(h.supervisor.isReady(0))
    }

    @Test func probingStopsWhenTheShutdownBegins() {
        var h = Harness(Plan(processes: [proc("app", .main) { $0.readinessProbe = probe() }], grace: 30 * second))
        h.send(.signal(sigterm))
        #expect(h.signals().contains(.cancelProbes(0)))
        #expect(h.supervisor.nextWakeup == 30 * second, "only the deadline is left")
    }
}

@Suite struct Hooks {
    @Test func anExecPreStopIsWaitedForThenTheStopSignal() {
        var h = Harness(Plan(processes: [proc("app", .main) { $0.preStop = .exec(["drain"]); $0.stopSignal = sigint }]))
        h.now = 1 * second
        h.send(.signal(sigterm))
        #expect(h.signals().suffix(1) == [.spawnHook(0)])
        #expect(h.logs().contains(.preStopStarted(name: "app", pid: 100, hookPid: 101)))
        h.now = 3 * second
        h.send(.hookExited(0, .exited(0)))
        #expect(h.logs().contains(.preStopExited(name: "app", hookPid: 101, .exited(0), ran: 2 * second)))
        #expect(h.signals().last == .signalGroup(0, sigint))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func aHookThatCannotStartDoesNotHoldBackTheStopSignal() {
        var h = Harness(Plan(processes: [proc("app", .main) { $0.preStop = .exec(["nope"]) }]),
                        failHook: [0: SpawnFailure(code: 127, reason: "command not found: nope")])
        h.send(.signal(sigterm))
        #expect(h.signals().suffix(2) == [.spawnHook(0), .signalGroup(0, sigterm)])
    }

    @Test func aHookStillRunningAtTheDeadlineIsKilledWithEverythingElse() {
        var h = Harness(Plan(processes: [proc("app", .main) { $0.preStop = .exec(["slow"]) }], grace: 2 * second))
        h.send(.signal(sigterm))
        h.advance(to: 2 * second)
        #expect(h.signals().suffix(2) == [.signalGroup(0, sigkill), .signalHook(0, sigkill)])
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == nil, "usher waits for the hook too")
        h.send(.hookExited(0, .signaled(sigkill)))
        #expect(h.exitCode == 137)
    }

    @Test func aContainerThatExitsDuringItsHookEndsTheHook() {
        var h = Harness(Plan(processes: [proc("app", .main) { $0.preStop = .exec(["drain"]) }]))
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))
        #expect(h.signals().last == .signalHook(0, sigkill))
        h.send(.hookExited(0, .signaled(sigkill)))
        #expect(h.exitCode == 0)
    }

    @Test func sidecarsRunTheirPreStopInReverseOrderAfterTheMains() {
        let plan = Plan(processes: [
            proc("a", .sidecar) { $0.preStop = .sleep(1 * second) },
            proc("b", .sidecar) { $0.preStop = .exec(["flush"]) },
            proc("app", .main),
        ])
        var h = Harness(plan)
        h.send(.signal(sigterm))
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .spawnHook(1), "b started last: its hook comes first")
        h.now = 500 * ms
        h.send(.hookExited(1, .exited(0)))
        #expect(h.signals().last == .signalGroup(1, sigterm))
        h.send(.exited(1, .exited(0)))
        #expect(h.logs().last == .preStopSleep(name: "a", pid: 100, wait: 1 * second))
        h.advance(to: 1500 * ms)
        #expect(h.signals().last == .signalGroup(0, sigterm))
    }
}

@Suite struct SeveralMainContainers {
    func plan() -> Plan {
        Plan(processes: [
            proc("log", .sidecar),
            proc("web", .main) { $0.preStop = .sleep(2 * second) },
            proc("worker", .main) { $0.stopSignal = sigint },
        ])
    }

    @Test func theyStartTogetherAndStopInParallel() {
        var h = Harness(plan())
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2)])
        h.send(.signal(sigterm))
        #expect(h.signals().last == .signalGroup(2, sigint), "worker has no preStop: signalled at once")
        h.advance(to: 2 * second)
        #expect(h.signals().last == .signalGroup(1, sigterm))
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .signalGroup(1, sigterm), "the sidecar waits for every main container")
        h.send(.exited(1, .exited(0)))
        #expect(h.signals().last == .signalGroup(0, sigterm))
    }

    @Test func theFirstToExitGivesTheStatusAndStopsTheOthers() {
        var h = Harness(plan())
        h.send(.exited(2, .exited(4)))
        #expect(h.logs().contains(.preStopSleep(name: "web", pid: 101, wait: 2 * second)), "the others get their preStop")
        h.advance(to: 2 * second)
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 4)
    }

    @Test func signalsAreForwardedToEveryMainContainer() {
        var h = Harness(plan())
        h.send(.signal(sighup))
        #expect(h.signals().suffix(2) == [.signalProcess(1, sighup), .signalProcess(2, sighup)])
    }
}

@Suite struct RepeatedInterrupts {
    /// At a terminal the first Ctrl-C reaches only the foreground main (issue 11, item 6): when
    /// the main holding the terminal dies of it, it counts, so two more at usher force the stop.
    @Test(arguments: [true, false])
    func aCtrlCThatEndedTheTerminalsMainCountsAsTheFirst(diedOfIt: Bool) {
        var h = Harness(twoSidecars(grace: 30 * second))
        h.supervisor.terminalHolder = 2
        h.send(.exited(2, diedOfIt ? .signaled(sigint) : .exited(130)))
        h.send(.signal(sigint))
        #expect(!h.logs().contains(.forcedStop(sigint, times: 3)))
        h.send(.signal(sigint))
        #expect(h.logs().contains(.forcedStop(sigint, times: 3)))
        #expect(h.signals().contains(.signalGroup(1, sigkill)) && h.signals().contains(.signalGroup(0, sigkill)))
    }

    @Test func aMainThatDoesNotHoldTheTerminalDoesNotCount() {
        var h = Harness(twoSidecars(grace: 30 * second))
        h.send(.exited(2, .signaled(sigint)))
        h.send(.signal(sigint))
        h.send(.signal(sigint))
        #expect(!h.logs().contains(.forcedStop(sigint, times: 3)))
        #expect(!h.signals().contains(.signalGroup(1, sigkill)))
    }

    @Test func theThirdCtrlCKillsEverythingAtOnce() {
        var h = Harness(twoSidecars(preStop: 5 * second, grace: 30 * second))
        h.send(.signal(sigint))
        h.now = 1 * second
        h.send(.signal(sigint))
        #expect(!h.signals().contains(.signalGroup(2, sigkill)), "a second Ctrl-C changes nothing")
        #expect(h.supervisor.nextWakeup == 5 * second, "nor does it skip the preStop wait")
        h.now = 2 * second
        h.send(.signal(sigint))
        let kills = h.signals().filter { if case .signalGroup(_, sigkill) = $0 { return true } else { return false } }
        #expect(kills == [.signalGroup(0, sigkill), .signalGroup(1, sigkill), .signalGroup(2, sigkill)])
        #expect(h.logs().contains(.forcedStop(sigint, times: 3)))
        #expect(h.logs().contains(.killedOnRequest(name: "app", pid: 102)))
        h.send(.exited(2, .signaled(sigkill)))
        h.send(.exited(1, .signaled(sigkill)))
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == 137)
    }

    @Test func repeatedSIGTERMsNeverForceAnything() {
        var h = Harness(twoSidecars(preStop: 5 * second))
        for t in 0..<5 {
            h.now = Nanos(t) * 100 * ms
            h.send(.signal(sigterm))
        }
        #expect(!h.signals().contains(.signalGroup(2, sigkill)))
        #expect(!h.signals().contains(.signalGroup(2, sigterm)), "the preStop wait still runs")
    }
}

@Suite struct RestartFailures {
    @Test func aRestartThatCannotBeSpawnedIsRetriedWithTheBackoff() {
        var h = Harness(Plan(processes: [proc("log", .sidecar), proc("app", .main)]))
        h.failSpawn[0] = SpawnFailure(code: 126, reason: "cannot start log now: Resource temporarily unavailable")
        h.send(.exited(0, .exited(1)))  // restart 1, at once: fails
        #expect(h.logs().contains(.startFailed(name: "log", SpawnFailure(code: 126, reason: "cannot start log now: Resource temporarily unavailable"))))
        #expect(h.logs().last == .restartScheduled(name: "log", delay: 10 * second, restart: 2))
        #expect(!h.signals().contains(.signalGroup(1, sigterm)), "the main keeps running")
        h.failSpawn[0] = nil
        h.advance(to: 10 * second)
        #expect(h.supervisor.isRunning(0))
        #expect(h.exitCode == nil)
    }

    @Test func aSidecarThatCannotBeStartedTheFirstTimeStillStopsTheStartup() {
        let h = Harness(Plan(processes: [proc("log", .sidecar), proc("app", .main)]),
                        failSpawn: [0: SpawnFailure(code: 127, reason: "command not found: log")])
        #expect(h.exitCode == 127)
        #expect(!h.signals().contains(.spawn(1)))
    }
}
