import Testing
@testable import UsherCore

/// The status file's text and `usher status`'s reading of it, and the readiness it reports:
/// up once every main container is ready and every sidecar started, never while shutting down.
@Suite struct StatusReporting {
    @Test func theFileRoundTrips() {
        let states = [ContainerStatus(name: "proxy", role: .sidecar, state: .running, pid: 12),
                      ContainerStatus(name: "app", role: .main, state: .notReady, pid: 13, restarts: 2),
                      ContainerStatus(name: "seed", role: .initStep, state: .exited)]
        let text = statusFileText(pid: 1, up: false, states)
        #expect(parseStatusFile(Array(text.utf8)) == StatusReport(pid: 1, up: false, containers: states))
        #expect(parseStatusFile(Array("garbage\n".utf8)) == nil)
        #expect(statusText(StatusReport(pid: 1, up: false, containers: states), json: true).hasPrefix("{\"ready\":false,\"pid\":1,\"containers\":[{\"name\":\"proxy\""))
    }

    @Test func upMeansEveryMainReadyAndEverySidecarStarted() {
        var h = Harness(Plan(containers: [
            proc("proxy", .sidecar) { $0.startupProbe = probe() },
            proc("app", .main) { $0.readinessProbe = probe() },
        ]))
        #expect(!h.supervisor.isUp)
        #expect(h.supervisor.statuses().map { $0.state } == [.starting, .waiting])
        h.probe(0, .startup, passed: true)
        #expect(h.supervisor.statuses().map { $0.state } == [.running, .notReady])
        #expect(!h.supervisor.isUp)
        h.probe(1, .readiness, passed: true)
        #expect(h.supervisor.isUp)
        h.send(.signal(sigterm))
        #expect(!h.supervisor.isUp, "not while shutting down")
        #expect(h.supervisor.statuses().map { $0.state } == [.stopping, .stopping])
    }
}
