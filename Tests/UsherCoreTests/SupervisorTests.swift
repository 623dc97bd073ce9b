import Testing
@testable import UsherCore

/// A fake driver: plays the system's part against the pure Supervisor with a fake clock. It
/// answers spawns at once with pids 100, 101, ... and records every action.
struct Harness {
    var supervisor: Supervisor
    var now: Nanos = 0
    var actions: [Action] = []
    var nextPid: Int32 = 100
    var failSpawn: [Int: SpawnFailure] = [:]
    var failHook: [Int: SpawnFailure] = [:]
    var exitCode: Int32?
    /// Watches the exchange as the driver's rehearsal observer does.
    var observer: Rehearsal?

    init(_ plan: Plan, failSpawn: [Int: SpawnFailure] = [:], failHook: [Int: SpawnFailure] = [:], observe: Bool = false,
         terminal: Bool = false) {
        supervisor = Supervisor(plan: plan, terminal: terminal)
        self.failSpawn = failSpawn
        self.failHook = failHook
        if observe { observer = Rehearsal(plan: plan, startedAt: 0) }
        send(.start)
    }

    mutating func send(_ event: Event) {
        var queue = [event]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            observer?.observe(next, at: now)
            for action in supervisor.handle(next, now: now) {
                observer?.observe(action, at: now)
                actions.append(action)
                switch action {
                case .spawn(let i):
                    if let failure = failSpawn[i] {
                        queue.append(.spawnFailed(i, failure))
                    } else {
                        queue.append(.spawned(i, pid: nextPid))
                        nextPid += 1
                    }
                case .runHandler(let i, .hook(let kind), _):
                    // As the driver's handler runner answers: a command that cannot start is a
                    // failed run at once; one that starts is reported with its pid.
                    if let failure = failHook[i] {
                        queue.append(.handlerDone(i, .hook(kind), HandlerResult(passed: false, detail: failure.reason)))
                    } else if case .exec? = supervisor.plan.containers[i].hook(kind) {
                        queue.append(.handlerStarted(i, .hook(kind), pid: nextPid))
                        nextPid += 1
                    }
                case .exit(let code):
                    exitCode = code
                default:
                    break
                }
            }
        }
    }

    /// Advances the fake clock to `t` and delivers a tick if a wake-up was due by then, as the
    /// timerfd would.
    mutating func advance(to t: Nanos) {
        while let wake = supervisor.nextWakeup, wake <= t {
            now = max(now, wake)
            send(.tick)
        }
        now = t
    }

    /// One run of a probe's check is over.
    mutating func probe(_ i: Int, _ kind: Plan.ProbeKind, passed: Bool, detail: String = "") {
        send(.handlerDone(i, .probe(kind), HandlerResult(passed: passed, detail: detail)))
    }

    /// A hook's handler ended (an exec hook's command with `status`).
    mutating func hookDone(_ i: Int, _ kind: Plan.HookKind, _ status: UsherCore.ExitStatus) {
        send(.handlerDone(i, .hook(kind), HandlerResult(passed: status == .exited(0), detail: "exited with \(status.description)", status: status)))
    }

    /// Actions recorded since `mark`, without log lines and leftover kills (`leftoverKills`).
    func signals(since mark: Int = 0) -> [Action] {
        actions[mark...].filter {
            switch $0 {
            case .log, .killLeftovers: return false
            default: return true
            }
        }
    }

    /// The `.killLeftovers` actions since `mark`: (index, leader).
    func leftoverKills(since mark: Int = 0) -> [Action] {
        actions[mark...].filter { if case .killLeftovers = $0 { return true } else { return false } }
    }

    func logs(since mark: Int = 0) -> [LogRecord] {
        actions[mark...].compactMap { if case .log(let r) = $0 { return r } else { return nil } }
    }
}

let ms: Nanos = 1_000_000
let second: Nanos = 1_000_000_000

/// sidecars "a", "b", then main "app"; indexes 0, 1, 2.
func twoSidecars(preStop: Nanos = 0, grace: Nanos = 30 * second, stopSignal: Int32 = sigterm) -> Plan {
    var app = Plan.Container(name: "app", argv: ["app"], role: .main)
    if preStop > 0 { app.preStop = .sleep(preStop) }
    app.stopSignal = stopSignal
    return Plan(containers: [
        .init(name: "a", argv: ["a"], role: .sidecar),
        .init(name: "b", argv: ["b"], role: .sidecar),
        app,
    ], grace: grace)
}

@Suite struct StartOrder {
    @Test func sidecarsInOrderThenMain() {
        let h = Harness(twoSidecars())
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2)])
        #expect(h.logs() == [.started(name: "a", pid: 100), .started(name: "b", pid: 101), .started(name: "app", pid: 102)])
        #expect(h.supervisor.nextWakeup == nil, "nothing is due while running: the loop must block")
        #expect(h.exitCode == nil)
    }

    @Test func failingSidecarStopsStartupAndStopsWhatStartedInReverse() {
        let plan = Plan(containers: [
            .init(name: "a", argv: ["a"], role: .sidecar),
            .init(name: "b", argv: ["b"], role: .sidecar),
            .init(name: "c", argv: ["c"], role: .sidecar),
            .init(name: "app", argv: ["app"], role: .main),
        ])
        var h = Harness(plan, failSpawn: [2: SpawnFailure(code: 127, reason: "command not found: c")])
        // c failed: the main process is never spawned; b (started last) is stopped first.
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2), .signalGroup(1, sigterm)])
        let mark = h.actions.count
        h.now = 1 * second
        h.send(.exited(1, .signaled(sigterm)))
        #expect(h.signals(since: mark) == [.signalGroup(0, sigterm)])
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 127)
    }

    @Test func failingMainStopsSidecarsAndExits126() {
        var h = Harness(twoSidecars(), failSpawn: [2: SpawnFailure(code: 126, reason: "cannot execute")])
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2), .signalGroup(1, sigterm)])
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 126)
    }

    @Test func failingOnlyProcessExitsAtOnce() {
        let plan = Plan(containers: [.init(name: "x", argv: ["x"], role: .main)])
        let h = Harness(plan, failSpawn: [0: SpawnFailure(code: 127, reason: "command not found: x")])
        #expect(h.exitCode == 127)
    }
}

@Suite struct Shutdown {
    @Test func stopSignalGoesToMainFirstThenSidecarsInReverseOneAtATime() {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        h.now = 5 * second
        h.send(.signal(sigterm))
        #expect(h.signals(since: mark) == [.signalGroup(2, sigterm)])
        // b must not be signalled while the main process still runs.
        h.advance(to: 6 * second)
        #expect(h.signals(since: mark) == [.signalGroup(2, sigterm)])
        h.send(.exited(2, .exited(0)))
        #expect(h.signals(since: mark) == [.signalGroup(2, sigterm), .signalGroup(1, sigterm)])
        // a waits until b has exited.
        h.advance(to: 7 * second)
        #expect(h.signals(since: mark).count == 2)
        h.send(.exited(1, .exited(0)))
        #expect(h.signals(since: mark).last == .signalGroup(0, sigterm))
        #expect(h.exitCode == nil)
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test(arguments: [sigterm, sigint, sigquit])
    func eachStopRequestSignalStartsShutdown(sig: Int32) {
        var h = Harness(twoSidecars())
        h.send(.signal(sig))
        #expect(h.signals().contains(.signalGroup(2, sigterm)))
        #expect(h.logs().contains(.signalReceived(sig, grace: 30 * second)))
    }

    @Test func customStopSignalForMainOnly() {
        var h = Harness(twoSidecars(stopSignal: 10))  // SIGUSR1
        h.send(.signal(sigterm))
        #expect(h.signals().last == .signalGroup(2, 10))
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .signalGroup(1, sigterm), "sidecars always get SIGTERM")
    }

    @Test func preStopDelaysOnlyTheMainStopSignal() {
        var h = Harness(twoSidecars(preStop: 5 * second))
        h.now = 10 * second
        let mark = h.actions.count
        h.send(.signal(sigterm))
        #expect(h.signals(since: mark).isEmpty)
        #expect(h.logs(since: mark).contains(.hookSleep(name: "app", pid: 102, .preStop, wait: 5 * second)))
        #expect(h.supervisor.nextWakeup == 15 * second)
        h.advance(to: 15 * second - 1)
        #expect(h.signals(since: mark).isEmpty)
        h.advance(to: 15 * second)
        #expect(h.signals(since: mark) == [.signalGroup(2, sigterm)])
        #expect(h.supervisor.deadline == 40 * second, "the deadline counts from the stop signal")
        #expect(h.supervisor.nextWakeup == 38 * second - Supervisor.windowLead, "the sidecars' stop window comes 2s before it")
    }

    @Test func mainExitingDuringPreStopSkipsToSidecars() {
        var h = Harness(twoSidecars(preStop: 5 * second))
        h.send(.signal(sigterm))
        h.now = 1 * second
        h.send(.exited(2, .exited(4)))
        #expect(h.signals() == [.spawn(0), .spawn(1), .spawn(2), .signalGroup(1, sigterm)])
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 4)
    }

    @Test func repeatedStopSignalNeitherRestartsPreStopNorMovesTheDeadline() {
        var h = Harness(twoSidecars(preStop: 5 * second, grace: 20 * second))
        h.send(.signal(sigterm))
        h.now = 3 * second
        let mark = h.actions.count
        h.send(.signal(sigint))
        #expect(h.logs(since: mark) == [.stopAlreadyUnderway(sigint)])
        #expect(h.supervisor.nextWakeup == 5 * second)
        h.advance(to: 5 * second)
        #expect(h.signals(since: mark) == [.signalGroup(2, sigterm)])
        #expect(h.supervisor.nextWakeup == 18 * second - Supervisor.windowLead, "the sidecars' stop window, 2s before the deadline, which stays at 20s")
    }

    @Test func mainExitingByItselfStopsSidecarsAndKeepsItsStatus() {
        var h = Harness(twoSidecars(grace: 10 * second))
        h.now = 60 * second
        h.send(.exited(2, .exited(3)))
        #expect(h.signals().last == .signalGroup(1, sigterm))
        #expect(h.supervisor.deadline == 70 * second, "the deadline counts from the main process's exit")
        h.send(.exited(1, .signaled(sigterm)))
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 3)
    }

    @Test func aFirstStopRequestAfterTheMainsOwnExitIsNotCalledARepeat() {
        var h = Harness(twoSidecars())
        h.send(.exited(2, .exited(0)))
        let mark = h.actions.count
        h.send(.signal(sigterm))
        #expect(h.logs(since: mark) == [.stopJoinsShutdown(sigterm)])
        h.send(.signal(sigint))
        #expect(h.logs(since: mark).last == .stopAlreadyUnderway(sigint))
    }

    @Test func mainKilledBySignalGives128PlusN() {
        var h = Harness(twoSidecars())
        h.send(.signal(sigterm))
        h.send(.exited(2, .signaled(sigterm)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 143)
    }

    @Test func sidecarExitingWhileMainRunsIsRestartedAndNothingStops() {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        h.now = 2 * second
        h.send(.exited(0, .exited(1)))
        // The kubelet's first restart is immediate.
        #expect(h.signals(since: mark) == [.spawn(0)])
        #expect(h.logs(since: mark) == [
            .exited(name: "a", pid: 100, .exited(1), ran: 2 * second, afterSignal: nil, role: .sidecar, shuttingDown: false),
            .restartScheduled(name: "a", delay: 0, restart: 1),
            .started(name: "a", pid: 103),
        ])
        #expect(h.exitCode == nil)
        h.send(.signal(sigterm))
        h.send(.exited(2, .exited(0)))
        h.send(.exited(1, .exited(0)))
        #expect(h.signals().last == .signalGroup(0, sigterm), "the restarted sidecar is stopped in its turn")
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func sidecarExitingBeforeItsTurnIsSkipped() {
        var h = Harness(twoSidecars())
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))  // a goes early, while the main process is stopping
        h.send(.exited(2, .exited(0)))
        #expect(h.signals().last == .signalGroup(1, sigterm))
        h.send(.exited(1, .exited(0)))
        #expect(h.exitCode == 0)
        #expect(!h.signals().contains(.signalGroup(0, sigterm)))
    }
}

@Suite struct Deadline {
    @Test func mainIgnoringStopSignalIsKilledAtTheDeadline() {
        var h = Harness(twoSidecars(preStop: 2 * second, grace: 10 * second))
        h.now = 100 * second
        h.send(.signal(sigterm))
        h.advance(to: 109 * second)
        #expect(!h.signals().contains(.signalGroup(2, sigkill)))
        h.advance(to: 110 * second)
        // Everything still alive is killed at once: the main process and both sidecars.
        let kills = h.signals().filter { if case .signalGroup(_, sigkill) = $0 { return true } else { return false } }
        #expect(kills == [.signalGroup(0, sigkill), .signalGroup(1, sigkill), .signalGroup(2, sigkill)])
        #expect(h.logs().contains(.killedAtDeadline(name: "app", pid: 102)))
        #expect(h.supervisor.nextWakeup == nil)
        h.send(.exited(2, .signaled(sigkill)))
        // No SIGTERM for the sidecars after the deadline: they are already being killed.
        #expect(h.signals().last == .signalGroup(2, sigkill))
        h.send(.exited(1, .signaled(sigkill)))
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == 137)
    }

    /// The main stopped cleanly and a sidecar had to be killed: the main's status stands, as the
    /// kubelet marks such a pod Succeeded (e2e: "should mark pod as succeeded if any of the
    /// restartable init containers have exceeded its termination grace period seconds").
    @Test func sidecarIgnoringSIGTERMIsKilledAndMainStatusIsKept() {
        var h = Harness(twoSidecars(grace: 5 * second))
        h.send(.signal(sigterm))
        h.now = 1 * second
        h.send(.exited(2, .exited(0)))
        h.send(.exited(1, .exited(0)))
        #expect(h.signals().last == .signalGroup(0, sigterm))
        h.advance(to: 5 * second)
        #expect(h.signals().last == .signalGroup(0, sigkill))
        #expect(h.logs().contains(.killedAtDeadline(name: "a", pid: 100)))
        h.send(.exited(0, .signaled(sigkill)))
        #expect(h.exitCode == 0)
    }

    @Test func exitedProcessesAreNotKilled() {
        var h = Harness(twoSidecars(grace: 5 * second))
        h.send(.signal(sigterm))
        h.send(.exited(0, .exited(0)))  // gone early, during the shutdown: not restarted
        h.advance(to: 5 * second)
        #expect(!h.signals().contains(.signalGroup(0, sigkill)))
        #expect(h.signals().contains(.signalGroup(2, sigkill)))
    }
}

@Suite struct Forwarding {
    @Test(arguments: [32, 33] as [Int32])
    func theCLibrarysOwnSignalsAreDropped(sig: Int32) {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        h.send(.signal(sig))
        #expect(h.signals(since: mark).isEmpty)
    }

    @Test(arguments: [sighup, 10, 12, 28, 18] as [Int32])  // HUP, USR1, USR2, WINCH, CONT
    func otherSignalsGoToTheMainProcessOnlyAndStopNothing(sig: Int32) {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        h.send(.signal(sig))
        #expect(h.signals(since: mark) == [.signalProcess(2, sig)])
        #expect(h.supervisor.nextWakeup == nil)
        #expect(h.exitCode == nil)
    }

    @Test func forwardingContinuesDuringPreStop() {
        var h = Harness(twoSidecars(preStop: 5 * second))
        h.send(.signal(sigterm))
        let mark = h.actions.count
        h.send(.signal(sighup))
        #expect(h.signals(since: mark) == [.signalProcess(2, sighup)])
    }

    @Test func nothingIsForwardedAfterTheMainProcessExited() {
        var h = Harness(twoSidecars())
        h.send(.exited(2, .exited(0)))
        let mark = h.actions.count
        h.send(.signal(sighup))
        #expect(h.signals(since: mark).isEmpty)
    }
}

@Suite struct LogLines {
    @Test func exitAfterStopSignalReportsTimeSinceTheSignal() {
        var h = Harness(twoSidecars())
        h.now = 10 * second
        h.send(.signal(sigterm))
        h.now = 10 * second + 250 * ms
        h.send(.exited(2, .exited(0)))
        #expect(h.logs().contains(.exited(name: "app", pid: 102, .exited(0), ran: 10 * second + 250 * ms, afterSignal: 250 * ms, role: .main, shuttingDown: true)))
        #expect(h.logs().contains(.stopping(name: "app", pid: 102, signal: sigterm)))
    }

    @Test func texts() {
        #expect(logText(.started(name: "web", pid: 7)) == "web[7] started")
        #expect(logText(.stopping(name: "web", pid: 7, signal: sigterm)) == "web[7] stopping with SIGTERM")
        #expect(logText(.exited(name: "web", pid: 7, .exited(0), ran: 0, afterSignal: 143 * ms, role: .main, shuttingDown: true))
            == "web[7] exited with status 0 0.143s after its stop signal")
        #expect(logText(.exited(name: "log", pid: 8, .signaled(9), ran: 2 * second, afterSignal: nil, role: .sidecar, shuttingDown: false))
            == "log[8] exited with signal SIGKILL after running 2.000s")
        #expect(logText(.restartScheduled(name: "log", delay: 20 * second, restart: 3))
            == "log will be restarted in 20s (restart 3, back-off)")
        #expect(logText(.killedAtDeadline(name: "web", pid: 7)) == "web[7] still running at the deadline: SIGKILL")
        #expect(logText(.signalReceived(sigterm, grace: 30 * second)) == "received SIGTERM, shutting down (deadline in 30s)")
        #expect(logText(.exiting(3)) == "exiting with status 3")
    }

    @Test func timestamps() {
        #expect(formatTimestamp(unixNanos: 0) == "1970-01-01T00:00:00.000Z")
        // 2026-11-23T07:02:11.120Z
        #expect(formatTimestamp(unixNanos: 1_795_417_331_120_000_000) == "2026-11-23T07:02:11.120Z")
        // A leap day: 2024-02-29T23:59:59.999Z
        #expect(formatTimestamp(unixNanos: 1_709_251_199_999_000_000) == "2024-02-29T23:59:59.999Z")
        #expect(formatTimestamp(unixNanos: 951_782_400_000_000_000) == "2000-02-29T00:00:00.000Z")
    }
}
