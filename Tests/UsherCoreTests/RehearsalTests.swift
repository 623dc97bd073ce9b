import Testing
@testable import UsherCore

/// The rehearsal observer and report, fed by the real Supervisor through the fake-clock harness.
@Suite struct RehearsalVerdicts {
    func rehearsed(grace: Nanos = 10 * second) -> Harness {
        var h = Harness(twoSidecars(grace: grace), observe: true)
        h.now = 1 * second
        h.send(.signal(sigterm))
        return h
    }

    @Test func cleanShutdownPasses() {
        var h = rehearsed()
        h.now = 1 * second + 300 * ms
        h.send(.exited(2, .exited(0)))
        h.now = 1 * second + 400 * ms
        h.send(.exited(1, .signaled(sigterm)))
        h.now = 1 * second + 500 * ms
        h.send(.exited(0, .exited(0)))
        var r = h.observer!
        r.processes[2].readyAt = 50 * ms  // the driver notes readiness from the supervisor
        #expect(r.passed)
        #expect(r.verdict(2) == .clean)
        #expect(r.verdict(1) == .endedBySignal(sigterm))
        #expect(r.stopAt == 1 * second)
        #expect(r.processes[2].signaledAt == 1 * second)
        #expect(r.processes[1].signaledAt == 1 * second + 300 * ms)
        #expect(r.shutdownDuration == 500 * ms)
        #expect(r.exitCode == 0)
        let text = rehearsalText([r])
        #expect(text.contains("app      102  +0.000s  +0.050s  SIGTERM  +1.000s  +1.300s  0.300s     0       exited cleanly in time"))
        #expect(text.contains("a        100  +0.000s  -        SIGTERM"))
        #expect(text.contains("shutdown took 0.500s of the 10s grace period (5.0%)"))
        #expect(text.hasSuffix("verdict: PASS: every process stopped cleanly within the deadline\n"))
        let json = rehearsalJSON([r])
        #expect(json.contains(#""name":"app","role":"main","pid":102,"started_ms":0.000,"ready_ms":50.000,"#))
        #expect(json.hasPrefix(#"{"passed":true,"runs":[{"passed":true,"stop_signal":"SIGTERM","stop_ms":1000.000,"shutdown_ms":500.000,"grace_used":0.0500,"grace_ms":10000.000,"exit_status":0,"stray_orphans":0,"processes":[{"name":"a","role":"sidecar","pid":100,"started_ms":0.000,"signal":"SIGTERM","signal_ms":1400.000,"exited_ms":1500.000,"stop_took_ms":100.000,"status":0,"verdict":"clean""#))
    }

    @Test func ignoringTheSignalIsKilledAndFails() {
        var h = rehearsed(grace: 2 * second)
        h.advance(to: 3 * second)
        h.send(.exited(0, .signaled(sigkill)))
        h.send(.exited(1, .signaled(sigkill)))
        h.send(.exited(2, .signaled(sigkill)))
        let r = h.observer!
        #expect(!r.passed)
        #expect(r.verdict(2) == .killedAtDeadline)
        #expect(r.processes[2].signal == sigterm, "the stop signal is kept, not overwritten by SIGKILL")
        #expect(rehearsalText([r]).contains("verdict: FAIL: a ignored its stop signal: killed at the deadline; b ignored"))
        #expect(rehearsalJSON([r]).contains(#""verdict":"killed_at_deadline""#))
    }

    @Test func nonZeroOrphansAndEarlyExits() {
        var h = rehearsed()
        h.send(.exited(2, .exited(3)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        var r = h.observer!
        #expect(r.verdict(2) == .exitedNonZero(.exited(3)))
        r.processes[1].leftOrphans = true
        #expect(r.verdict(1) == .leftOrphans)
        #expect(!r.passed)

        var early = Harness(twoSidecars(), observe: true)
        early.now = 500 * ms
        early.send(.exited(0, .exited(0)))  // a sidecar that quits before the stop signal
        early.now = 1 * second
        early.send(.signal(sigterm))
        early.send(.exited(2, .exited(0)))
        early.send(.exited(1, .exited(0)))
        #expect(early.observer!.verdict(0) == .exitedBeforeStop(.exited(0)))
        #expect(!early.observer!.passed)
    }

    @Test func strayOrphansFailTheRun() {
        var h = rehearsed()
        h.send(.exited(2, .exited(0)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        var r = h.observer!
        #expect(r.passed)
        r.strayOrphans = 2
        #expect(!r.passed)
        #expect(rehearsalText([r]).contains("2 orphaned process(es) outlived the shutdown"))
    }

    @Test func noStopSignalMeansFail() {
        var h = Harness(twoSidecars(), observe: true)
        h.send(.exited(2, .exited(0)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        #expect(!h.observer!.passed)
        #expect(rehearsalText([h.observer!]).contains("the stop signal was never sent"))
    }

    @Test func repeatsReportTheSpread() {
        func run(_ mainStop: Nanos) -> Rehearsal {
            var h = rehearsed()
            h.now = 1 * second + mainStop
            h.send(.exited(2, .exited(0)))
            h.send(.exited(1, .exited(0)))
            h.send(.exited(0, .exited(0)))
            return h.observer!
        }
        let runs = [run(100 * ms), run(300 * ms), run(200 * ms)]
        let text = rehearsalText(runs)
        #expect(text.contains("shutdown over 3 runs: min 0.100s, median 0.200s, max 0.300s"))
        #expect(text.contains("  app: stop took min 0.100s, median 0.200s, max 0.300s; clean in every run"))
        #expect(text.contains("in all 3 runs"))
        #expect(rehearsalJSON(runs).hasSuffix(#","shutdown_ms":{"min":100.000,"median":200.000,"max":300.000}}"# + "\n"))
    }

    @Test func rehearseCommandLine() throws {
        let inv = try parseInvocation(["rehearse", "--after", "2s", "--signal", "INT", "--repeat", "5",
                                       "--format", "json", "--grace", "3s", "--", "app"]) { _ in nil }
        guard case .rehearse(let plan, _, let opts) = inv else { Issue.record("expected rehearse"); return }
        #expect(opts.after == 2 * second && opts.signal == sigint && opts.repeatCount == 5 && opts.format == .json)
        #expect(plan.grace == 3 * second && plan.containers[0].argv == ["app"])
        #expect(throws: UsageError("unknown option '--after' (see usher --help)")) {
            try parseInvocation(["--after", "1s", "app"]) { _ in nil }
        }
        #expect(throws: UsageError("--repeat: \"0\" is not a number of runs from 1 to 1000")) {
            try parseInvocation(["rehearse", "--repeat", "0", "app"]) { _ in nil }
        }
        // Only a stop request can be rehearsed: any other signal stops nothing.
        for sig in ["USR1", "HUP", "KILL", "9"] {
            #expect(throws: UsageError.self) { try parseInvocation(["rehearse", "--signal", sig, "app"]) { _ in nil } }
        }
        #expect((try? parseInvocation(["rehearse", "--signal", "QUIT", "app"]) { _ in nil }) != nil)
        #expect(throws: UsageError("--format: unknown report format \"yaml\" (use text or json)")) {
            try parseInvocation(["rehearse", "--format", "yaml", "app"]) { _ in nil }
        }
        // A command called rehearse still runs after --.
        guard case .run(let p, _) = try parseInvocation(["--", "rehearse"], env: { _ in nil }) else {
            Issue.record("expected run"); return
        }
        #expect(p.containers[0].argv == ["rehearse"])
    }
}

@Suite struct ProbeWindow {
    func run(probeFor: Nanos, _ requests: [(start: Nanos, end: Nanos, ok: Bool)]) -> Rehearsal {
        var h = Harness(twoSidecars(), observe: true)
        h.now = 1 * second
        h.send(.signal(sigterm))
        h.send(.exited(2, .exited(0)))
        h.send(.exited(1, .exited(0)))
        h.send(.exited(0, .exited(0)))
        var r = h.observer!
        r.probeURLs = ["http://127.0.0.1:8080/"]
        r.probeFor = probeFor
        r.requests = requests.map { .init(url: 0, startedAt: $0.start, endedAt: $0.end, passed: $0.ok, detail: $0.ok ? "HTTP 200" : "refused") }
        return r
    }

    @Test func failuresBeforeTheStopDoNotCount() {
        let r = run(probeFor: 0, [(100 * ms, 110 * ms, false), (500 * ms, 510 * ms, true)])
        #expect(r.requestCounts(0) == (duringShutdown: 0, dropped: 0, failedBefore: 1))
        #expect(r.passed)
    }

    @Test func aRequestInFlightAtTheStopMustSucceed() {
        let r = run(probeFor: 0, [(950 * ms, 1100 * ms, false)])
        #expect(r.requestCounts(0).dropped == 1)
        #expect(!r.passed)
        #expect(rehearsalText([r]).contains("1 in flight at the stop signal, 1 dropped; first drop at +0.950s: refused"))
    }

    /// A probe that never got one answer before the stop signal (nobody listens there: each request
    /// fails at once, none is in flight at the stop) proved nothing, and the run fails, saying so.
    @Test func aProbeNeverAnsweredBeforeTheStopFailsTheRun() {
        let r = run(probeFor: 0, [(100 * ms, 100 * ms, false), (500 * ms, 500 * ms, false), (900 * ms, 900 * ms, false)])
        #expect(r.requestCounts(0) == (duringShutdown: 0, dropped: 0, failedBefore: 3), "nothing dropped")
        #expect(!r.answeredBeforeStop(0))
        #expect(!r.passed)
        let text = rehearsalText([r])
        #expect(text.contains("3 failed before the stop signal (not counted); no answer before the stop signal (last: refused)"), "\(text)")
        #expect(text.hasSuffix("verdict: FAIL: probe http://127.0.0.1:8080/ was never answered before the stop signal, so the shutdown's requests prove nothing\n"), "\(text)")
        #expect(rehearsalJSON([r]).contains(#""failed_before_stop":3,"answered_before_stop":false}"#))
        #expect(!run(probeFor: 0, []).passed, "no request at all proves nothing either")
        let late = run(probeFor: 0, [(950 * ms, 1100 * ms, true)])
        #expect(!late.passed, "answered only after the stop signal")
        #expect(run(probeFor: 0, [(500 * ms, 510 * ms, true)]).passed)
    }

    @Test func requestsSentWhileTheBalancerStillSendsCount() {
        let r = run(probeFor: 500 * ms, [(1200 * ms, 1210 * ms, false), (1600 * ms, 1610 * ms, false)])
        // Sent 200ms after the stop, inside --probe-for: dropped. Sent 600ms after: not counted.
        #expect(r.requestCounts(0) == (duringShutdown: 1, dropped: 1, failedBefore: 0))
    }
}

/// A stop request from outside during a rehearsal interrupts it: the run does not pass, whatever
/// its processes did, and the report says why.
@Suite struct InterruptedRehearsal {
    @Test func aStopRequestThatIsNotTheRehearsalsOwnFailsTheRun() {
        let companion = RehearsalCompanion()
        var h = Harness(twoSidecars(), observe: true)
        companion.observer = h.observer
        companion.pending = (after: second, signal: sigterm, readyBy: 60 * second)
        companion.observe(.signal(sigterm), at: 0)  // from outside: no tick sent one
        #expect(companion.observer?.interruptedBy == sigterm)
        #expect(companion.pending == nil && companion.trigger == nil, "the rehearsal's own stop is not sent any more")
        h.observer = companion.observer
        h.send(.signal(sigterm))
        for i in [2, 1, 0] { h.send(.exited(i, .signaled(sigterm))) }
        let run = h.observer!
        #expect(!run.passed)
        #expect(rehearsalText([run]).contains("interrupted by SIGTERM from outside"))
        #expect(rehearsalJSON([run]).contains("\"interrupted_by\":\"SIGTERM\""))
    }

    @Test func theRehearsalsOwnStopSignalIsNotAnInterruption() {
        let companion = RehearsalCompanion()
        companion.observer = Rehearsal(plan: twoSidecars(), startedAt: 0)
        companion.trigger = (at: second, signal: sigint)
        let poller = try! Poller()
        #expect(companion.tick(at: second, poller: poller) == [.signal(sigint)])
        companion.observe(.signal(sigint), at: second)
        #expect(companion.observer?.interruptedBy == nil)
        companion.observe(.signal(sigterm), at: 2 * second)
        #expect(companion.observer?.interruptedBy == sigterm, "a later one from outside still is")
    }
}
