import Testing
@testable import UsherCore

// An instant plus a configured duration must never trap. The largest grace a
// Pod spec can give (terminationGracePeriodSeconds: 9223372036), or `--grace 2562047h`, added
// to a clock that has run for an hour goes past Int64.max; the instant saturates ("never").

/// An hour of uptime: the monotonic clock is well past zero on a real machine.
private let uptime: Nanos = 3600 * second
/// The largest grace a Pod spec can give: 9223372036 s, within a second of Int64.max ns.
private let hugeGrace: Nanos = (Int64.max / nanosPerSecond) * nanosPerSecond

@Suite struct SaturatingInstants {
    @Test func laterSaturates() {
        #expect(later(10, by: 5) == 15)
        #expect(later(uptime, by: hugeGrace) == Nanos.max)
        #expect(later(Nanos.max, by: 1) == Nanos.max)
        #expect(later(0, by: Nanos.max) == Nanos.max)
        #expect(later(Nanos.min, by: -1) == Nanos.min, "saturates downwards too")
    }

    @Test func aHugeGraceAtTheStopSignal() {
        var h = Harness(Plan(containers: [proc("app", .main)], grace: hugeGrace))
        h.now = uptime
        h.send(.signal(sigterm))
        #expect(h.supervisor.deadline == Nanos.max, "the deadline saturates: it never comes")
        #expect(h.signals().last == .signalGroup(0, sigterm))
        #expect(h.supervisor.nextWakeup == Nanos.max)
        h.now = uptime + second
        h.send(.exited(0, .signaled(sigterm)))
        #expect(h.exitCode == 143)
    }

    @Test func aHugeGraceWhenAJobsMainExitsByItself() {
        var h = Harness(Plan(containers: [proc("job", .main)], grace: hugeGrace))
        h.now = uptime
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func aHugePreStopSleep() {
        // `--pre-stop 2562047h --grace 2562047h`: the sleep ends "never", the deadline too.
        let long = 2_562_047 * 3600 * second
        var h = Harness(Plan(containers: [proc("app", .main) { $0.preStop = .sleep(long) }], grace: long))
        h.now = uptime
        h.send(.signal(sigterm))
        #expect(h.supervisor.nextWakeup == Nanos.max - Plan.defaultMinStopWindow - Supervisor.windowLead, "the stop window before a deadline of never")
        #expect(!h.signals().contains(.signalGroup(0, sigterm)), "still in its preStop sleep")
        h.advance(to: uptime + 3600 * second)
        h.send(.exited(0, .exited(0)))
        #expect(h.exitCode == 0)
    }

    @Test func aSidecarStoppedForARestartWithTheHugePodGrace() {
        // A failing liveness probe without its own terminationGracePeriodSeconds: the sidecar's
        // SIGKILL comes after the pod's grace.
        let plan = Plan(containers: [
            proc("proxy", .sidecar) { $0.livenessProbe = probe(failures: 1) },
            proc("app", .main),
        ], grace: hugeGrace)
        var h = Harness(plan)
        h.advance(to: uptime)
        h.probe(0, .liveness, passed: false, detail: "refused")
        #expect(h.signals().contains(.signalGroup(0, sigterm)))
        #expect(h.supervisor.containers[0].stop?.killAt == Nanos.max)
    }

    @Test func probeTimingsNearTheirLimits() {
        // int32 seconds of delay and period, on a clock far along: no trap, and the next check
        // is due at the saturated instant at the latest.
        let maxSeconds = Nanos(Int32.max) * nanosPerSecond
        let plan = Plan(containers: [
            proc("app", .main) {
                $0.readinessProbe = probe(period: maxSeconds, delay: maxSeconds)
                $0.startupProbe = probe(period: maxSeconds, delay: maxSeconds)
            },
        ])
        var h = Harness(plan)
        #expect(h.supervisor.nextWakeup == maxSeconds)
        h.now = Nanos.max - second
        h.send(.tick)
        h.probe(0, .startup, passed: true, detail: "ok")
        #expect(h.probeRuns().last == .runHandler(0, .probe(.readiness), timeout: second), "its delay has long passed")
        h.probe(0, .readiness, passed: true, detail: "ok")
        #expect(h.supervisor.nextWakeup == Nanos.max, "the next check, a period later, saturates")
    }

    @Test func aHugeProbeForWindowInTheReport() {
        // `rehearse --probe-for 2562047h`: a request belongs to the shutdown window, no trap.
        var r = Rehearsal(plan: Plan(containers: [proc("app", .main)]), startedAt: 0)
        r.stopAt = uptime
        r.probeFor = Nanos.max
        r.probeURLs = ["http://127.0.0.1:8080/"]
        r.requests = [.init(url: 0, startedAt: uptime + second, endedAt: uptime + 2 * second, passed: false, detail: "refused")]
        #expect(r.droppedRequests == 1)
    }
}
