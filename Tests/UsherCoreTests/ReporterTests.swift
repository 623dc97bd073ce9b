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
