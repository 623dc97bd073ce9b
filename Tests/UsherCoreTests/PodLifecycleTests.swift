import Testing
@testable import UsherCore

// The Pod-spec lifecycle on the fake clock: init containers, sidecar gates, probes, restarts
// with back-off, hooks, restart policies, several main containers. Where a rule is the
// kubelet's, the test says which of its functions or node e2e tests it mirrors.

func proc(_ name: String, _ role: Plan.Role, _ edit: (inout Plan.Container) -> Void = { _ in }) -> Plan.Container {
    var p = Plan.Container(name: name, argv: [name], role: role)
    edit(&p)
    return p
}

func probe(_ check: Plan.Handler = .exec(["check"]), period: Nanos = 1 * second, failures: Int = 3,
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
        actions[mark...].filter { if case .runHandler(_, .probe, _) = $0 { return true } else { return false } }
    }

    /// When each process got each signal, from the actions since the start.
    func signalled(_ i: Int, _ sig: Int32) -> Bool { signals().contains(.signalGroup(i, sig)) }
}

/// The instant of every action, recorded by stepping the clock: for rules about when.
struct Timeline {
    var h: Harness
    var at: [(Nanos, Action)] = []

    init(_ plan: Plan) {
        h = Harness(plan)
        for a in h.actions { at.append((0, a)) }
    }

    mutating func send(_ e: Event) { record { $0.send(e) } }

    /// As Harness.advance, one wake-up at a time, so that each action gets its own instant.
    mutating func advance(to t: Nanos) {
        while let wake = h.supervisor.nextWakeup, wake <= t {
            h.now = max(h.now, wake)
            record { $0.send(.tick) }
        }
        h.now = t
    }

    private mutating func record(_ body: (inout Harness) -> Void) {
        let mark = h.actions.count
        body(&h)
        for a in h.actions[mark...] { at.append((h.now, a)) }
    }

    /// When `action` happened first, nil if never.
    func when(_ action: Action) -> Nanos? { at.first { $0.1 == action }?.0 }
}

@Suite struct InitContainers {
    /// init "migrate", sidecar "proxy", init "seed", main "app" (indexes 0...3).
    func plan(_ proxy: (inout Plan.Container) -> Void = { _ in }) -> Plan {
        Plan(containers: [proc("migrate", .initStep), proc("proxy", .sidecar, proxy), proc("seed", .initStep), proc("app", .main)])
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
        #expect(h.exitCode == Plan.startupFailedStatus, "usher's own status: no main container ran")
    }

    @Test func aStopRequestDuringAnInitContainerStopsIt() {
        var h = Harness(plan())
        h.send(.signal(sigterm))
        #expect(h.signals() == [.spawn(0), .signalGroup(0, sigterm)])
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 143, "stopped before any main container started")
    }

    @Test func initContainersThatSucceededAreNotRestarted() {
        var h = Harness(plan())
        h.send(.exited(0, .exited(0)))
        h.send(.exited(2, .exited(0)))
        h.advance(to: 3600 * second)
        #expect(h.signals().filter { $0 == .spawn(0) || $0 == .spawn(2) }.count == 2)
    }

    /// The kubelet restarts a failed init container of a pod whose policy is not Never
    /// (computePodActions); with OnFailure usher does it in place.
    @Test func underOnFailureAFailedInitContainerIsRestartedInPlace() {
        var p = plan()
        p.restartPolicy = .onFailure
        var h = Harness(p)
        h.send(.exited(0, .exited(2)))
        #expect(h.logs().contains(.restartScheduled(name: "migrate", delay: 0, restart: 1)))
        #expect(h.signals() == [.spawn(0), .spawn(0)], "restarted at once, and nothing after it started")
        h.send(.exited(0, .exited(2)))
        h.advance(to: 10 * second)
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 3, "then with the back-off")
        h.send(.exited(0, .exited(0)))
        #expect(h.signals().contains(.spawn(1)), "the startup goes on once it succeeds")
    }

    /// KEP-5307: an init container's restart rules restart it on a matching exit code.
    @Test func restartRulesRestartAnInitContainerOnAMatchingCode() {
        var p = Plan(containers: [proc("fetch", .initStep) {
            $0.restartPolicy = .never
            $0.restartRules = [Plan.RestartRule(exitCodesIn: true, values: [42])]
        }, proc("app", .main)])
        p.restartPolicy = .never
        var h = Harness(p)
        h.send(.exited(0, .exited(42)))
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 2)
        h.send(.exited(0, .exited(1)))
        #expect(h.logs().contains(.startupFailed(reason: "init container fetch failed with status 1")))
        #expect(h.exitCode == Plan.startupFailedStatus)
    }
}

@Suite struct SidecarGates {
    func gated(_ check: Plan.Handler = .exec(["ready"]), failures: Int = 3, delay: Nanos = 0,
               _ edit: (inout Plan.Container) -> Void = { _ in }) -> Plan {
        Plan(containers: [
            proc("proxy", .sidecar) { $0.startupProbe = probe(check, failures: failures, delay: delay); edit(&$0) },
            proc("app", .main),
        ])
    }

    @Test func theNextStartsOnceTheStartupProbePasses() {
        var h = Harness(gated(delay: 500 * ms))
        #expect(h.signals() == [.spawn(0)])
        #expect(h.supervisor.nextWakeup == 500 * ms, "the first check waits for initialDelaySeconds")
        h.advance(to: 500 * ms)
        #expect(h.probeRuns() == [.runHandler(0, .probe(.startup), timeout: second)])
        #expect(h.supervisor.nextWakeup == nil, "one check at a time: the driver answers within its timeout")
        h.now = 600 * ms
        h.probe(0, .startup, passed: false, detail: "connection refused")
        #expect(!h.signals().contains(.spawn(1)))
        #expect(h.supervisor.nextWakeup == 1500 * ms, "every periodSeconds, counted from the start of the last check")
        h.advance(to: 1500 * ms)
        h.probe(0, .startup, passed: true, detail: "HTTP 200")
        #expect(h.signals().last == .spawn(1))
        #expect(h.logs().contains(.startupProbePassed(name: "proxy", pid: 100, after: 1500 * ms)))
        #expect(h.supervisor.nextWakeup == nil, "a passed startup probe is not run again")
    }

    /// The kubelet kills a sidecar whose startup probe failed its threshold and restarts it with
    /// back-off; the pod's startup stays blocked (e2e: "should restart a restartable init
    /// container ... if the startup probe fails").
    @Test func aStartupProbeThatNeverPassesRestartsTheSidecarAndTheStartupStaysBlocked() {
        var h = Harness(gated(failures: 3))
        for n in 0..<3 {
            h.advance(to: Nanos(n) * second)
            h.probe(0, .startup, passed: false, detail: "timed out after 1s")
        }
        #expect(h.logs().contains(.probeFailed(name: "proxy", pid: 100, .startup, failures: 3, detail: "timed out after 1s")))
        #expect(h.logs().contains(.stoppingForRestart(name: "proxy", pid: 100, reason: "its startup probe failed", restart: true)))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.logs().contains(.restartScheduled(name: "proxy", delay: 0, restart: 1)))
        #expect(h.supervisor.pid(0) == 101, "started again at once the first time")
        for n in 3..<6 {
            h.advance(to: Nanos(n) * second)
            h.probe(0, .startup, passed: false, detail: "timed out after 1s")
        }
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.logs().contains(.restartScheduled(name: "proxy", delay: 10 * second, restart: 2)), "then with the back-off")
        #expect(!h.signals().contains(.spawn(1)), "the main never starts while the sidecar is not up")
        #expect(h.exitCode == nil)
    }

    @Test func theStartupProbeKillRunsThePreStopFirst() {
        var h = Harness(gated(failures: 1) { $0.preStop = .exec(["drain"]) })
        h.probe(0, .startup, passed: false, detail: "refused")
        #expect(h.signals().last == .runHandler(0, .hook(.preStop), timeout: 30 * second))
        #expect(!h.signalled(0, sigterm))
        h.hookDone(0, .preStop, .exited(0))
        #expect(h.signals().last == .signalGroup(0, sigterm))
    }

    @Test func aGatedSidecarThatDiesIsRestartedAndStillGates() {
        var h = Harness(gated())
        h.now = 200 * ms
        h.send(.exited(0, .exited(1)))
        #expect(h.signals().filter { if case .spawn = $0 { return true } else { return false } } == [.spawn(0), .spawn(0)],
                "restarted at once (first restart)")
        #expect(!h.signals().contains(.spawn(1)))
        h.advance(to: 200 * ms)
        h.probe(0, .startup, passed: true, detail: "ok")
        #expect(h.signals().last == .spawn(1))
    }

    @Test func aResultForAnAbandonedCheckIsIgnored() {
        var h = Harness(gated())
        h.send(.exited(0, .exited(1)))  // the check under way is abandoned with the process
        #expect(h.signals().contains(.cancelHandler(0, .probe(.startup))))
        h.send(.exited(0, .exited(1)))  // restarted at once, ended again: now 10s of back-off
        h.probe(0, .startup, passed: true, detail: "late")
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
        var h = Harness(Plan(containers: [proc("log", .sidecar), proc("app", .main)]))
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
        var h = Harness(Plan(containers: [proc("log", .sidecar), proc("app", .main)]))
        h.send(.exited(0, .exited(1)))
        h.send(.exited(0, .exited(1)))  // now waiting 10s
        h.now = 1 * second
        h.send(.signal(sigterm))
        h.send(.exited(1, .signaled(sigterm)))
        #expect(h.exitCode == 143)
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 2)
    }

    @Test func aFailingLivenessProbeRestartsASidecarWithSIGKILLAfterTheGrace() {
        let plan = Plan(containers: [
            proc("proxy", .sidecar) { $0.livenessProbe = probe(failures: 2); $0.stopSignal = sigquit },
            proc("app", .main),
        ], grace: 5 * second)
        var h = Harness(plan)
        #expect(h.probeRuns() == [.runHandler(0, .probe(.liveness), timeout: second)], "liveness starts at once without a startup probe")
        h.probe(0, .liveness, passed: false, detail: "HTTP 500")
        h.advance(to: 1 * second)
        h.probe(0, .liveness, passed: false, detail: "HTTP 500")
        #expect(h.logs().contains(.probeFailed(name: "proxy", pid: 100, .liveness, failures: 2, detail: "HTTP 500")))
        #expect(h.signals().last == .signalGroup(0, sigquit), "its own stop signal")
        h.advance(to: 6 * second)
        #expect(h.signals().last == .signalGroup(0, sigkill), "still running after the grace period")
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.signals().filter { $0 == .spawn(0) }.count == 2, "and restarted")
        #expect(h.exitCode == nil)
    }

    /// The kubelet runs the preStop for every kill, a failed liveness probe's too
    /// (killContainer is the same path): the stop signal waits for it.
    @Test func aLivenessRestartRunsThePreStopFirst() {
        var h = Harness(Plan(containers: [
            proc("proxy", .sidecar) { $0.livenessProbe = probe(failures: 1); $0.preStop = .sleep(1 * second) },
            proc("app", .main),
        ], grace: 10 * second))
        h.probe(0, .liveness, passed: false, detail: "refused")
        #expect(h.logs().contains(.hookSleep(name: "proxy", pid: 100, .preStop, wait: 1 * second)))
        #expect(!h.signalled(0, sigterm))
        h.advance(to: 1 * second)
        #expect(h.signals().last == .signalGroup(0, sigterm))
    }

    /// A main container of a Deployment (policy Always) that fails its liveness probe ends the
    /// pod: the engine above restarts the container (the deliberate difference).
    @Test func aFailingLivenessProbeOfTheMainEndsAnAlwaysPod() {
        var h = Harness(Plan(containers: [proc("log", .sidecar), proc("app", .main) { $0.livenessProbe = probe(failures: 1) }]))
        h.probe(1, .liveness, passed: false, detail: "connection refused")
        #expect(h.signals().last == .signalGroup(1, sigterm))
        h.send(.exited(1, .signaled(sigterm)))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 143)
    }

    /// The kubelet restarts a liveness-killed container unless the policy is Never, whatever
    /// its status (computePodActions: shouldRestartOnFailure).
    @Test func underOnFailureALivenessKilledMainIsRestartedInPlace() {
        var p = Plan(containers: [proc("app", .main) { $0.livenessProbe = probe(failures: 1) }])
        p.restartPolicy = .onFailure
        var h = Harness(p)
        h.probe(0, .liveness, passed: false, detail: "refused")
        h.send(.exited(0, .exited(0)))  // even a clean exit after the kill
        #expect(h.supervisor.pid(0) == 101)
        #expect(h.exitCode == nil)
    }

    /// Under Never a liveness-killed main container is not restarted, and the log says so
    /// instead of announcing a restart; with restart rules, its exit status decides.
    @Test(arguments: ["Never", "Never with rules", "OnFailure", "Always"])
    func theStopAfterALivenessFailureSaysWhetherARestartFollows(setup: String) {
        let policy: Plan.RestartPolicy = setup == "Always" ? .always : setup == "OnFailure" ? .onFailure : .never
        let rules = setup == "Never with rules"
        let restart: Bool? = setup == "Never" ? false : rules ? nil : true
        var p = Plan(containers: [proc("app", .main) {
            $0.livenessProbe = probe(failures: 1)
            if rules { $0.restartRules = [Plan.RestartRule(exitCodesIn: true, values: [42])] }
        }])
        p.restartPolicy = policy
        var h = Harness(p)
        h.probe(0, .liveness, passed: false, detail: "refused")
        #expect(h.logs().contains(.stoppingForRestart(name: "app", pid: 100, reason: "its liveness probe failed", restart: restart)))
        if policy == .never && !rules {
            #expect(logText(h.logs().first { if case .stoppingForRestart = $0 { return true } else { return false } }!)
                    == "app[100] is stopped and not restarted (restart policy Never): its liveness probe failed")
            h.send(.exited(0, .signaled(sigterm)))
            #expect(h.exitCode == 143 && h.signals().filter { $0 == .spawn(0) }.count == 1, "not restarted")
        }
    }
}

/// A stop request that comes while a main container waits for its restart: the pod did not succeed,
/// so usher's status is that container's last failure, not 0.
@Suite struct StopDuringRestartBackoff {
    func plan(_ policy: Plan.RestartPolicy, rules: Bool = false) -> Plan {
        var p = Plan(containers: [proc("log", .sidecar), proc("app", .main) {
            if rules { $0.restartRules = [Plan.RestartRule(exitCodesIn: true, values: [3])] }
        }])
        p.restartPolicy = policy
        return p
    }

    @Test(arguments: [false, true])
    func theLastFailureIsUshersStatus(rules: Bool) {
        var h = Harness(plan(rules ? .never : .onFailure, rules: rules))
        h.send(.exited(1, .exited(3)))
        h.send(.exited(1, .exited(3)))  // the first restart is at once; the second waits 10s
        #expect(h.logs().contains(.restartScheduled(name: "app", delay: 10 * second, restart: 2)))
        h.now = 2 * second
        h.send(.signal(sigterm))
        #expect(h.logs().contains(.restartCancelled(name: "app", last: .exited(3))))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 3)
        h.advance(to: 20 * second)
        #expect(h.signals().filter { $0 == .spawn(1) }.count == 2, "no restart after the stop request")
    }

    @Test func aKilledRunIsReportedAsItsSignal() {
        var h = Harness(plan(.onFailure))
        h.send(.exited(1, .signaled(11)))
        h.send(.exited(1, .signaled(11)))
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == Int32(139))
        #expect(logText(.restartCancelled(name: "app", last: .signaled(11)))
                == "app is not restarted: the shutdown began during its restart back-off; its last run's signal SIGSEGV is its final status")
    }

    @Test func stopIsSuccessDoesNotCountIt() {
        var p = plan(.onFailure)
        p.stopIsSuccess = true
        var h = Harness(p)
        h.send(.exited(1, .signaled(sigterm)))  // it died of SIGTERM by itself, and is to be restarted
        h.send(.exited(1, .signaled(sigterm)))
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 143)
    }
}

@Suite struct Readiness {
    @Test func transitionsAreLoggedWithThresholds() {
        var h = Harness(Plan(containers: [proc("app", .main) {
            $0.readinessProbe = probe(failures: 2, successes: 2, delay: 1 * second)
        }]))
        #expect(!h.supervisor.isReady(0))
        #expect(h.supervisor.nextWakeup == 1 * second)
        for (t, passed) in [(1, true), (2, true), (3, false), (4, false), (5, true)] {
            h.advance(to: Nanos(t) * second)
            h.probe(0, .readiness, passed: passed, detail: passed ? "ok" : "HTTP 503")
            if t == 1 { #expect(!h.supervisor.isReady(0), "successThreshold 2") }
        }
        let changes = h.logs().filter {
            switch $0 { case .ready, .notReady: return true; default: return false }
        }
        #expect(changes == [.ready(name: "app", pid: 100), .notReady(name: "app", pid: 100, detail: "HTTP 503")])
        #expect(!h.supervisor.isReady(0))
    }

    @Test func withoutAReadinessProbeAStartedContainerIsReady() {
        let h = Harness(Plan(containers: [proc("app", .main)]))
        #expect(h.supervisor.isReady(0))
    }

    /// The kubelet keeps probing readiness of a terminating container until it exits; its
    /// liveness and startup probes stop (prober worker: doProbe).
    @Test func readinessGoesOnDuringTheShutdownLivenessStops() {
        var h = Harness(Plan(containers: [proc("app", .main) {
            $0.readinessProbe = probe()
            $0.livenessProbe = probe()
            $0.preStop = .sleep(5 * second)
        }], grace: 30 * second))
        h.probe(0, .readiness, passed: true)
        h.send(.signal(sigterm))
        #expect(h.signals().contains(.cancelHandler(0, .probe(.liveness))), "the liveness check under way is abandoned")
        let mark = h.actions.count
        h.advance(to: 3 * second)
        #expect(h.probeRuns(since: mark) == [.runHandler(0, .probe(.readiness), timeout: second)])
        h.probe(0, .readiness, passed: false, detail: "HTTP 503")
        h.advance(to: 4 * second)
        h.probe(0, .readiness, passed: false, detail: "HTTP 503")
        h.advance(to: 5 * second)
        h.probe(0, .readiness, passed: false, detail: "HTTP 503")
        #expect(h.logs().contains(.notReady(name: "app", pid: 100, detail: "HTTP 503")), "its readiness still counts while it drains")
        h.send(.exited(0, .exited(0)))
        let after = h.actions.count
        h.advance(to: 20 * second)
        #expect(h.probeRuns(since: after).isEmpty, "and ends with the container")
    }
}

@Suite struct PreStopHooks {
    @Test func anExecPreStopIsWaitedForThenTheStopSignal() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .exec(["drain"]); $0.stopSignal = sigint }]))
        h.now = 1 * second
        h.send(.signal(sigterm))
        #expect(h.signals().suffix(1) == [.runHandler(0, .hook(.preStop), timeout: 30 * second)],
                "its backstop timeout is the deadline; the stop window ends it first")
        #expect(h.logs().contains(.hookStarted(name: "app", pid: 100, .preStop, hookPid: 101)))
        h.now = 3 * second
        h.hookDone(0, .preStop, .exited(0))
        #expect(h.logs().contains(.hookEnded(name: "app", .preStop, hookPid: 101,
                                             HandlerResult(passed: true, detail: "exited with status 0", status: .exited(0)), ran: 2 * second)))
        #expect(h.signals().last == .signalGroup(0, sigint))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func aHookThatCannotStartDoesNotHoldBackTheStopSignal() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .exec(["nope"]) }]),
                        failHook: [0: SpawnFailure(code: 127, reason: "command not found: nope")])
        h.send(.signal(sigterm))
        #expect(h.signals().suffix(2) == [.runHandler(0, .hook(.preStop), timeout: 30 * second), .signalGroup(0, sigterm)])
    }

    /// An httpGet preStop counts as done whatever its status (the kubelet's HandlerRunner
    /// ignores it); only no answer at all is a failure, which does not hold back the stop either.
    @Test func anHTTPPreStopIsDoneWhateverItsStatus() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .http(HTTPURL("http://127.0.0.1:8080/drain")!, headers: []) }]))
        h.send(.signal(sigterm))
        #expect(h.signals().last == .runHandler(0, .hook(.preStop), timeout: 30 * second))
        h.send(.handlerDone(0, .hook(.preStop), HandlerResult(passed: true, detail: "HTTP 500")))
        #expect(h.signals().last == .signalGroup(0, sigterm))
    }

    @Test func aHookStillRunningAtTheStopWindowIsEnded() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .exec(["slow"]) }], grace: 5 * second))
        h.send(.signal(sigterm))
        h.advance(to: 3 * second)
        #expect(h.signals().suffix(2) == [.cancelHandler(0, .hook(.preStop)), .signalGroup(0, sigterm)])
        #expect(h.logs().contains(.stopWindow(name: "app", pid: 100, signal: sigterm, window: 2 * second, cutShort: true)))
        h.advance(to: 5 * second)
        #expect(h.signals().last == .signalGroup(0, sigkill))
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == 137)
    }

    @Test func aContainerThatExitsDuringItsHookEndsTheHook() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .exec(["drain"]) }]))
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))
        #expect(h.signals().contains(.cancelHandler(0, .hook(.preStop))))
        #expect(h.exitCode == 0)
    }

    /// killContainer runs the preStop first and only then waits for the container's turn, so
    /// every preStop starts the moment the termination begins, sidecars' included (e2e:
    /// "should call sidecar container PreStop hook simultaneously").
    @Test func everyPreStopStartsAtOnceSidecarsIncluded() {
        let plan = Plan(containers: [
            proc("a", .sidecar) { $0.preStop = .sleep(1 * second) },
            proc("b", .sidecar) { $0.preStop = .exec(["flush"]) },
            proc("app", .main) { $0.preStop = .sleep(2 * second) },
        ])
        var t = Timeline(plan)
        t.send(.signal(sigterm))
        #expect(t.h.logs().contains(.hookSleep(name: "a", pid: 100, .preStop, wait: 1 * second)))
        #expect(t.when(.runHandler(1, .hook(.preStop), timeout: 30 * second)) == 0)
        #expect(t.h.logs().contains(.hookSleep(name: "app", pid: 102, .preStop, wait: 2 * second)))
        t.h.now = 500 * ms
        t.send(.handlerDone(1, .hook(.preStop), HandlerResult(passed: true, detail: "exited with status 0", status: .exited(0))))
        #expect(!t.h.signalled(1, sigterm), "b's hook is done but its turn has not come")
        t.advance(to: 2 * second)
        #expect(t.when(.signalGroup(2, sigterm)) == 2 * second)
        #expect(!t.h.signalled(0, sigterm), "a's sleep is over, but b is still running")
        t.h.now = 2500 * ms
        t.send(.exited(2, .exited(0)))
        #expect(t.when(.signalGroup(1, sigterm)) == 2500 * ms)
        t.h.now = 2600 * ms
        t.send(.exited(1, .exited(0)))
        #expect(t.when(.signalGroup(0, sigterm)) == 2600 * ms)
    }

    /// terminationOrdering: a sidecar waits for every main container and every later sidecar,
    /// not for an earlier one.
    @Test func aSidecarsTurnWaitsForEveryMainAndLaterSidecarsOnly() {
        let plan = Plan(containers: [proc("a", .sidecar), proc("b", .sidecar), proc("web", .main), proc("job", .main)])
        var h = Harness(plan)
        h.send(.signal(sigterm))
        #expect(h.signalled(2, sigterm) && h.signalled(3, sigterm))
        h.send(.exited(2, .exited(0)))
        #expect(!h.signalled(1, sigterm), "job still runs")
        h.send(.exited(3, .exited(0)))
        #expect(h.signalled(1, sigterm) && !h.signalled(0, sigterm))
        h.send(.exited(1, .exited(0)))
        #expect(h.signalled(0, sigterm))
    }
}

@Suite struct StopWindow {
    /// The kubelet would move the SIGKILL 2s past the grace period (minimumGracePeriodInSeconds);
    /// usher keeps the deadline and sends the stop signal 2s before it.
    @Test func aPreStopLongerThanTheGraceIsCutShortAtTheWindow() {
        var t = Timeline(Plan(containers: [proc("app", .main) { $0.preStop = .sleep(10 * second) }], grace: 6 * second))
        t.send(.signal(sigterm))
        t.advance(to: 6 * second)
        #expect(t.when(.signalGroup(0, sigterm)) == 4 * second - Supervisor.windowLead, "the window, and the loop's lateness ahead of it")
        #expect(t.when(.signalGroup(0, sigkill)) == 6 * second)
        #expect(t.h.logs().contains(.stopWindow(name: "app", pid: 100, signal: sigterm, window: 2 * second, cutShort: true)))
    }

    @Test func aSidecarWhoseTurnNeverComesGetsItsSignalAtTheWindow() {
        var t = Timeline(Plan(containers: [proc("proxy", .sidecar), proc("app", .main)], grace: 6 * second))
        t.send(.signal(sigterm))  // app ignores it
        t.advance(to: 6 * second)
        #expect(t.when(.signalGroup(1, sigterm)) == 0)
        #expect(t.when(.signalGroup(0, sigterm)) == 4 * second - Supervisor.windowLead)
        #expect(t.h.logs().contains(.stopWindow(name: "proxy", pid: 100, signal: sigterm, window: 2 * second, cutShort: false)))
        #expect(t.when(.signalGroup(0, sigkill)) == 6 * second && t.when(.signalGroup(1, sigkill)) == 6 * second)
    }

    @Test func theWindowIsConfigurable() {
        var p = Plan(containers: [proc("app", .main) { $0.preStop = .sleep(10 * second) }], grace: 6 * second)
        p.minStopWindow = 3 * second
        var t = Timeline(p)
        t.send(.signal(sigterm))
        t.advance(to: 6 * second)
        #expect(t.when(.signalGroup(0, sigterm)) == 3 * second - Supervisor.windowLead)
    }

    @Test func aGraceNoLongerThanTheWindowSignalsEverythingAtOnce() {
        var t = Timeline(Plan(containers: [
            proc("proxy", .sidecar) { $0.preStop = .sleep(1 * second) },
            proc("app", .main) { $0.preStop = .exec(["drain"]) },
        ], grace: 1 * second))
        t.send(.signal(sigterm))
        #expect(t.h.logs().contains(.graceShorterThanWindow(grace: 1 * second, window: 2 * second)))
        #expect(t.when(.signalGroup(0, sigterm)) == 0 && t.when(.signalGroup(1, sigterm)) == 0)
        #expect(!t.h.signals().contains(.runHandler(1, .hook(.preStop), timeout: 0)), "no hook is started with no time for it")
    }

    /// Whatever the hooks and turns, no process is ever SIGKILLed less than the window after
    /// its stop signal, and the deadline does not move.
    @Test(arguments: [3, 5, 8, 30])
    func noProcessIsKilledLessThanTheWindowAfterItsSignal(graceSeconds: Int) {
        let grace = Nanos(graceSeconds) * second
        var t = Timeline(Plan(containers: [
            proc("a", .sidecar) { $0.preStop = .sleep(4 * second) },
            proc("b", .sidecar),
            proc("web", .main) { $0.preStop = .sleep(7 * second) },
            proc("job", .main),
        ], grace: grace))
        t.send(.signal(sigterm))  // nobody exits
        t.advance(to: grace + second)
        for i in 0..<4 {
            guard let kill = t.when(.signalGroup(i, sigkill)), let stop = t.when(.signalGroup(i, sigterm)) else {
                Issue.record("process \(i) was not both signalled and killed")
                continue
            }
            #expect(kill == grace, "the deadline stays where it is")
            #expect(kill - stop >= 2 * second || grace <= 2 * second, "process \(i): \(stop) then \(kill)")
        }
    }

    @Test func aRestartKillKeepsTheWindowToo() {
        var p = probe(failures: 1)
        p.terminationGrace = 3 * second
        var t = Timeline(Plan(containers: [
            proc("proxy", .sidecar) { $0.livenessProbe = p; $0.preStop = .sleep(10 * second) },
            proc("app", .main),
        ]))
        t.send(.handlerDone(0, .probe(.liveness), HandlerResult(passed: false, detail: "refused")))
        t.advance(to: 4 * second)
        #expect(t.when(.signalGroup(0, sigterm)) == 1 * second - Supervisor.windowLead)
        #expect(t.when(.signalGroup(0, sigkill)) == 3 * second)
    }
}

@Suite struct PostStartHooks {
    /// The kubelet's startContainer runs the postStart before it returns, so the next container
    /// starts only after it (e2e: "should launch init container serially before a regular
    /// container" with a postStart).
    @Test func theNextContainerWaitsForThePostStart() {
        var h = Harness(Plan(containers: [proc("proxy", .sidecar) { $0.postStart = .exec(["warm-up"]) }, proc("app", .main)]))
        #expect(h.signals() == [.spawn(0), .runHandler(0, .hook(.postStart), timeout: 30 * second)])
        #expect(h.logs().contains(.hookStarted(name: "proxy", pid: 100, .postStart, hookPid: 101)))
        h.now = 2 * second
        h.hookDone(0, .postStart, .exited(0))
        #expect(h.signals().last == .spawn(1))
    }

    @Test func mainContainersWithPostStartStartOneAfterAnother() {
        var h = Harness(Plan(containers: [
            proc("web", .main) { $0.postStart = .sleep(1 * second) },
            proc("job", .main),
            proc("cron", .main),
        ]))
        #expect(h.signals() == [.spawn(0)])
        h.advance(to: 1 * second)
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2)], "without a postStart the rest start together")
    }

    @Test func probesBeginAfterThePostStart() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.postStart = .sleep(2 * second); $0.livenessProbe = probe() }]))
        #expect(h.probeRuns().isEmpty)
        #expect(!h.supervisor.isReady(0))
        h.advance(to: 2 * second)
        #expect(h.probeRuns() == [.runHandler(0, .probe(.liveness), timeout: second)])
        #expect(h.supervisor.isReady(0))
    }

    /// A failed postStart kills the container (killContainer: preStop first) and it restarts
    /// by its policy; a sidecar always.
    @Test func aFailingPostStartKillsTheContainerPreStopFirstAndItRestarts() {
        var h = Harness(Plan(containers: [
            proc("proxy", .sidecar) { $0.postStart = .exec(["register"]); $0.preStop = .exec(["deregister"]) },
            proc("app", .main),
        ]))
        h.hookDone(0, .postStart, .exited(1))
        #expect(h.logs().contains(.stoppingForRestart(name: "proxy", pid: 100, reason: "its postStart hook failed", restart: true)))
        #expect(h.signals().last == .runHandler(0, .hook(.preStop), timeout: 30 * second))
        h.hookDone(0, .preStop, .exited(0))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.supervisor.pid(0) != nil && h.supervisor.pid(0) != 100, "restarted")
        #expect(!h.signals().contains(.spawn(1)), "the main still waits for a postStart that passes")
    }

    @Test func aFailingPostStartOfAJobsMainLeavesItDone() {
        var p = Plan(containers: [proc("work", .main) { $0.postStart = .http(HTTPURL("http://127.0.0.1:9/")!, headers: []) }])
        p.restartPolicy = .never
        var h = Harness(p)
        h.send(.handlerDone(0, .hook(.postStart), HandlerResult(passed: false, detail: "connection refused")))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 143, "not restarted under Never; the pod ends with its status")
    }

    @Test func theShutdownDuringAPostStartCancelsIt() {
        var h = Harness(Plan(containers: [proc("app", .main) { $0.postStart = .exec(["slow"]) }]))
        h.send(.signal(sigterm))
        #expect(h.signals().suffix(2) == [.cancelHandler(0, .hook(.postStart)), .signalGroup(0, sigterm)])
    }
}

@Suite struct RestartPolicies {
    func job(_ policy: Plan.RestartPolicy) -> Plan {
        var p = Plan(containers: [proc("log", .sidecar), proc("worker-a", .main), proc("worker-b", .main)])
        p.restartPolicy = policy
        return p
    }

    /// A Job (restartPolicy Never): the kubelet lets every regular container run to its end;
    /// the pod ends when all have; then the sidecars are stopped (e2e: "should terminate
    /// sidecars ... after the main containers have exited").
    @Test func underNeverEachMainRunsOnceAndThePodEndsWhenAllHave() {
        var h = Harness(job(.never))
        h.now = 500 * ms
        h.send(.exited(1, .exited(0)))
        #expect(h.logs().contains(.mainDone(name: "worker-a", remaining: 1)))
        #expect(!h.signalled(2, sigterm), "worker-b keeps working")
        #expect(!h.signalled(0, sigterm), "and so does the sidecar it may need")
        h.now = 3 * second
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 0)
    }

    @Test(arguments: [(Int32(3), Int32(0), Int32(3)), (0, 5, 5), (4, 6, 4)])
    func underNeverTheStatusIsTheFirstFailure(a: Int32, b: Int32, expected: Int32) {
        var h = Harness(job(.never))
        h.send(.exited(1, .exited(a)))
        h.send(.exited(2, .exited(b)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == expected)
    }

    @Test func underOnFailureAFailureIsRestartedAndSuccessIsDone() {
        var h = Harness(job(.onFailure))
        h.send(.exited(1, .exited(1)))
        #expect(h.logs().contains(.restartScheduled(name: "worker-a", delay: 0, restart: 1)))
        #expect(h.supervisor.pid(1) == 103)
        h.send(.exited(1, .exited(0)))
        #expect(h.logs().contains(.mainDone(name: "worker-a", remaining: 1)))
        h.send(.exited(2, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func underAlwaysTheFirstMainsExitEndsThePod() {
        var h = Harness(job(.always))
        h.send(.exited(1, .exited(0)))
        #expect(h.signalled(2, sigterm), "the deliberate difference: the engine restarts the container")
        h.send(.exited(2, .signaled(sigterm)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    /// KEP-5307: the first rule that matches the exit code restarts the container; otherwise
    /// its own restartPolicy decides.
    @Test func restartRulesRestartOnTheCodesTheyName() {
        var p = job(.never)
        p.containers[1].restartPolicy = .never
        p.containers[1].restartRules = [Plan.RestartRule(exitCodesIn: true, values: [42])]
        var h = Harness(p)
        h.send(.exited(1, .exited(42)))
        #expect(h.supervisor.pid(1) == 103, "42 restarts it")
        h.send(.exited(1, .exited(1)))
        #expect(h.logs().contains(.mainDone(name: "worker-a", remaining: 1)), "1 does not")
        #expect(Plan.RestartRule(exitCodesIn: false, values: [0, 1]).matches(2))
        #expect(!Plan.RestartRule(exitCodesIn: false, values: [0, 1]).matches(1))
    }

    @Test func aContainerAlwaysPolicyInAJobRestartsInPlace() {
        var p = job(.never)
        p.containers[2].restartPolicy = .always
        var h = Harness(p)
        h.send(.exited(2, .exited(0)))
        #expect(h.supervisor.pid(2) == 103, "its own Always restarts it in place")
        h.send(.exited(1, .exited(0)))
        #expect(!h.signalled(0, sigterm), "the pod goes on while a main container still runs")
    }
}

@Suite struct SeveralMainContainers {
    func plan() -> Plan {
        Plan(containers: [
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

    @Test func underAlwaysTheFirstToExitGivesTheStatusAndStopsTheOthers() {
        var h = Harness(plan())
        h.send(.exited(2, .exited(4)))
        #expect(h.logs().contains(.hookSleep(name: "web", pid: 101, .preStop, wait: 2 * second)), "the others get their preStop")
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
    /// At a terminal the first Ctrl-C reaches only the foreground main: when the main holding the
    /// terminal dies of it, it counts, so two more at usher force the stop.
    @Test(arguments: [true, false])
    func aCtrlCThatEndedTheTerminalsMainCountsAsTheFirst(diedOfIt: Bool) {
        var h = Harness(twoSidecars(grace: 30 * second), terminal: true)
        #expect(h.supervisor.terminalHolder == 2)
        h.send(.exited(2, diedOfIt ? .signaled(sigint) : .exited(130)))
        h.send(.signal(sigint))
        #expect(!h.logs().contains(.forcedStop(sigint, times: 3)))
        h.send(.signal(sigint))
        #expect(h.logs().contains(.forcedStop(sigint, times: 3)))
        #expect(h.signals().contains(.signalGroup(1, sigkill)) && h.signals().contains(.signalGroup(0, sigkill)))
    }

    /// Guards that the terminal goes back to usher's group when its holder exits, before
    /// anything else is done for that exit, and only for the holder: without it the next Ctrl-C
    /// goes to a group that is gone, and usher never counts it.
    @Test func theHoldersExitTakesTheTerminalBackFirst() {
        var h = Harness(twoSidecars(grace: 30 * second), terminal: true)
        let mark = h.actions.count
        h.send(.exited(1, .exited(0)))  // a sidecar
        #expect(!h.actions[mark...].contains { if case .takeTerminalBack = $0 { return true } else { return false } })
        let holderMark = h.actions.count
        guard case .running(let pid, _) = h.supervisor.containers[2].state else { Issue.record("main not running"); return }
        h.send(.exited(2, .exited(0)))
        #expect(h.actions[holderMark] == .takeTerminalBack(group: pid))
        #expect(h.actions[(holderMark + 1)...].allSatisfy { $0 != .takeTerminalBack(group: pid) })
    }

    @Test func withoutATerminalNothingIsTakenBack() {
        var h = Harness(twoSidecars(grace: 30 * second))
        h.send(.exited(2, .exited(0)))
        #expect(!h.actions.contains { if case .takeTerminalBack = $0 { return true } else { return false } })
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
        var h = Harness(Plan(containers: [proc("log", .sidecar), proc("app", .main)]))
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
        let h = Harness(Plan(containers: [proc("log", .sidecar), proc("app", .main)]),
                        failSpawn: [0: SpawnFailure(code: 127, reason: "command not found: log")])
        #expect(h.exitCode == 127)
        #expect(!h.signals().contains(.spawn(1)))
    }
}

/// Exit statuses that say what happened.
@Suite struct ExitStatuses {
    @Test func remappedCodesBecomeSuccess() {
        var p = twoSidecars()
        p.successCodes = [143]
        var h = Harness(p)
        h.send(.signal(sigterm))
        for i in [2, 1, 0] { h.send(.exited(i, .exited(143))) }
        #expect(h.exitCode == 0)
    }

    @Test(arguments: [true, false])
    func aRequestedStopEndedByTheStopSignalIsSuccess(requested: Bool) {
        var p = twoSidecars(stopSignal: sigquit)
        p.stopIsSuccess = true
        var h = Harness(p)
        if requested { h.send(.signal(sigterm)) }
        h.send(.exited(2, .signaled(sigquit)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == (requested ? 0 : 131), "only when usher was asked to stop")
    }

    /// A main container that died of its stop signal by itself, before any stop request, is a
    /// failure even when a stop request comes during the sidecars' shutdown.
    @Test(arguments: [true, false])
    func aMainThatDiedOfTheSignalBeforeTheRequestIsNoSuccess(always: Bool) {
        var p = twoSidecars()
        p.stopIsSuccess = true
        p.restartPolicy = always ? .always : .never
        var h = Harness(p)
        h.send(.exited(2, .signaled(sigterm)))
        #expect(h.signalled(1, sigterm), "the pod's shutdown began with the main's own exit")
        h.send(.signal(sigterm))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 143)
    }

    /// Only the stop signal usher sent after the request counts: one sent for a failed liveness
    /// probe before it does not.
    @Test func aStopSignalSentBeforeTheRequestDoesNotCount() {
        var p = Plan(containers: [proc("app", .main) { $0.livenessProbe = probe(failures: 1) }])
        p.stopIsSuccess = true
        p.restartPolicy = .never
        var h = Harness(p)
        h.probe(0, .liveness, passed: false, detail: "refused")
        #expect(h.signalled(0, sigterm))
        h.send(.signal(sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 143)
    }

    @Test func aStopSignalOtherThanTheMainsIsNotSuccess() {
        var p = twoSidecars()
        p.stopIsSuccess = true
        var h = Harness(p)
        h.send(.signal(sigterm))
        h.send(.exited(2, .exited(1)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 1)
    }

    @Test func aFailingMainsStatusWinsOverADeadlineKill() {
        var h = Harness(twoSidecars(grace: 5 * second))
        h.send(.signal(sigterm))
        h.send(.exited(2, .exited(3)))
        h.send(.exited(1, .exited(0)))
        h.advance(to: 5 * second)
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == 3)
    }
}

/// A container ends with its leader: what it left in its process group or session is killed when
/// the leader is reaped, before a restart or the next init entry, and the driver's answer is
/// logged.
@Suite struct Leftovers {
    @Test func aRestartedSidecarsLeftoversAreKilledBeforeItsRestart() {
        var h = Harness(Plan(containers: [proc("proxy", .sidecar), proc("app", .main)]))
        let mark = h.actions.count
        h.send(.exited(0, .exited(1)))
        let kill = h.actions[mark...].firstIndex(of: .killLeftovers(0, leader: 100))
        let spawn = h.actions[mark...].firstIndex(of: .spawn(0))
        #expect(kill != nil && spawn != nil && kill! < spawn!, "killed before it is started again")
        h.send(.leftoversKilled(0, leader: 100, count: 2))
        #expect(h.logs().contains(.leftoversKilled(name: "proxy", pid: 100, count: 2)))
        #expect(logText(.leftoversKilled(name: "proxy", pid: 100, count: 2))
                == "proxy[100] left 2 process(es) behind in its process group or session: SIGKILL")
    }

    @Test func anInitContainersLeftoversAreKilledBeforeTheNextEntry() {
        var h = Harness(Plan(containers: [proc("init", .initStep), proc("app", .main)]))
        let mark = h.actions.count
        h.send(.exited(0, .exited(0)))
        #expect(h.leftoverKills(since: mark) == [.killLeftovers(0, leader: 100)])
        let kill = h.actions[mark...].firstIndex(of: .killLeftovers(0, leader: 100))!
        #expect(h.actions[mark...].firstIndex(of: .spawn(1))! > kill)
    }

    /// A main container that ends on its own has its leftovers killed as it ends, before the
    /// shutdown that its end begins; in a shutdown none are killed at the leaders' exits (their
    /// groups got the stop signal; usher's exit ends what is left), and nothing waits on them.
    @Test func aMainsLeftoversAreKilledWhenItEndsOnItsOwnAndLeftToUshersExitInAShutdown() {
        var h = Harness(twoSidecars(grace: 5 * second))
        h.send(.exited(2, .exited(0)))
        #expect(h.leftoverKills() == [.killLeftovers(2, leader: 102)])
        #expect(h.signalled(1, sigterm), "the next sidecar's turn has come")
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.leftoverKills() == [.killLeftovers(2, leader: 102)], "none in the shutdown")
        #expect(h.exitCode == 0)

        var s = Harness(twoSidecars(grace: 5 * second))
        s.send(.signal(sigterm))
        s.send(.exited(2, .signaled(sigterm)))
        #expect(s.leftoverKills().isEmpty && s.signalled(1, sigterm))
    }

    @Test func aRehearsalCountsKilledLeftoversAsOrphans() {
        var h = Harness(Plan(containers: [proc("app", .main)]), observe: true)
        h.send(.signal(sigterm))
        h.send(.exited(0, .signaled(sigterm)))
        h.send(.leftoversKilled(0, leader: 100, count: 1))
        #expect(h.observer?.verdict(0) == .leftOrphans)
    }
}
