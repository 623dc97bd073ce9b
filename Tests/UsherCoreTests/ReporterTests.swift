import Foundation
import Testing
@testable import UsherCore

/// The termination message as the kubelet reads it: only its last 4096 bytes
/// (`getTerminationMessage` in pkg/kubelet/kuberuntime/kuberuntime_container.go).
@Suite struct TerminationMessages {
    /// A pod with many containers killed at the deadline must not push the verdict (the main's
    /// end and usher's own status) out of the part the kubelet keeps: the message stays within
    /// 4096 bytes, ends with the verdict, and says how many names it left out.
    @Test func aLongListIsShortenedAndTheVerdictComesLast() {
        let reporter = Reporter(Reporter.Options())
        reporter.observe(.log(.exited(name: "app", pid: 7, .signaled(15), ran: 0, afterSignal: 0, role: .main, shuttingDown: true)), at: 0)
        for n in 0..<400 {
            reporter.observe(.log(.killedAtDeadline(name: "sidecar-with-a-long-name-\(n)", pid: Int32(100 + n))), at: 0)
        }
        let message = reporter.terminationMessage(status: 143)
        #expect(message.utf8.count + 1 <= 4096)
        #expect(message.hasSuffix("app exited with signal SIGTERM; usher exited with status 143"), "\(message.suffix(120))")
        #expect(message.hasPrefix("killed at the deadline: sidecar-with-a-long-name-0, "))
        #expect(message.contains(" more; app exited"))
    }

    @Test func aShortMessageKeepsEveryName() {
        let reporter = Reporter(Reporter.Options())
        reporter.observe(.log(.killedAtDeadline(name: "proxy", pid: 3)), at: 0)
        reporter.observe(.log(.killedAtDeadline(name: "cache", pid: 4)), at: 0)
        #expect(reporter.terminationMessage(status: 137) == "killed at the deadline: proxy, cache; usher exited with status 137")
    }
}

/// The status file is rewritten once per wake-up of the event loop, with the state at its end,
/// not after each event: a shutdown step of a large pod handles several events in one wake-up,
/// and each rewrite rebuilds every container's line.
@Suite struct StatusFileWrites {
    @Test func theFileIsWrittenWhenTheWakeupIsDoneNotAtEachEvent() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/status"
        let reporter = Reporter(Reporter.Options(statusFile: path, statusFileNamed: true))
        let before = try readText(path)
        #expect(before == "usher-status 1\npid \(getpid())\nup no\n")
        var h = Harness(Plan(containers: [.init(name: "side", argv: ["s"], role: .sidecar), .init(name: "app", argv: ["a"], role: .main)]))
        // Events of one wake-up: the companion sees them settle one by one.
        reporter.observe(.log(.stopping(name: "app", pid: 101, signal: sigterm)), at: 0)
        reporter.settled(h.supervisor, at: 0)
        h.send(.signal(sigterm))
        reporter.observe(.log(.stopping(name: "side", pid: 100, signal: sigterm)), at: 0)
        reporter.settled(h.supervisor, at: 0)
        #expect(try readText(path) == before, "not rewritten before the wake-up is done")
        reporter.wakeupHandled(h.supervisor)
        #expect(try readText(path) == statusFileText(pid: getpid(), up: false, h.supervisor.statuses()))
        #expect(try readText(path).contains("container app main stopping 101 0\n"))
        // Nothing new: nothing to write (the file is left alone even if changed behind usher's back).
        try "planted\n".write(toFile: path, atomically: true, encoding: .utf8)
        reporter.wakeupHandled(h.supervisor)
        #expect(try readText(path) == "planted\n")
    }

    private func makeTemporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("usher-status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    private func removeTree(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    private func readText(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
}
