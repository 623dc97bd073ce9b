import Testing
@testable import UsherCore

@Suite struct LogJSON {
    let t: Nanos = 1_795_417_331_120_000_000  // 2026-11-23T07:02:11.120Z

    @Test func killedAtDeadline() {
        #expect(logJSON(.killedAtDeadline(name: "web", pid: 7), unixNanos: t) ==
            #"{"time":"2026-11-23T07:02:11.120Z","level":"error","event":"killed_at_deadline","process":"web","pid":7,"signal":"SIGKILL","message":"web[7] still running at the deadline: SIGKILL"}"#)
    }

    @Test func exitedBySignalAfterStop() {
        let line = logJSON(.exited(name: "app", pid: 9, .signaled(15), ran: 5 * second, afterSignal: 120 * ms,
                                   role: .main, shuttingDown: true), unixNanos: t)
        #expect(line == #"{"time":"2026-11-23T07:02:11.120Z","level":"warn","event":"exited","process":"app","pid":9,"status":143,"signal":"SIGTERM","duration_ms":5000,"stop_duration_ms":120,"message":"app[9] exited with signal SIGTERM 0.120s after its stop signal"}"#)
    }

    @Test func cleanExitIsInfo() {
        let line = logJSON(.exited(name: "app", pid: 9, .exited(0), ran: 2 * second, afterSignal: nil,
                                   role: .main, shuttingDown: false), unixNanos: t)
        #expect(line.contains(#""level":"info","event":"exited","process":"app","pid":9,"status":0,"duration_ms":2000,"message""#))
        #expect(!line.contains("stop_duration_ms"))
    }

    @Test func otherEvents() {
        #expect(logJSON(.signalReceived(sigterm, grace: 30 * second), unixNanos: t).contains(#""event":"stop_requested","signal":"SIGTERM","grace_ms":30000"#))
        #expect(logJSON(.startFailed(name: "x", SpawnFailure(code: 127, reason: "command not found: x")), unixNanos: t)
            .contains(#""level":"error","event":"start_failed","process":"x","status":127,"reason":"command not found: x""#))
        #expect(logJSON(.exiting(3), unixNanos: t).contains(#""event":"exiting","status":3"#))
        #expect(logJSON(.hookSleep(name: "app", pid: 4, .preStop, wait: 5 * second), unixNanos: t).contains(#""event":"pre_stop","process":"app","pid":4,"duration_ms":5000"#))
        #expect(logJSON(.stopAlreadyUnderway(sigint), unixNanos: t).contains(#""level":"warn","event":"stop_repeated","signal":"SIGINT""#))
        #expect(logJSON(.stopping(name: "a", pid: 2, signal: 10), unixNanos: t).contains(#""event":"stopping","process":"a","pid":2,"signal":"SIGUSR1""#))
    }

    @Test func escaping() {
        #expect(escapeJSON("a\"b\\c\nd\te\u{01}é") == #"a\"b\\c\nd\te\u0001é"#)
        let line = logJSON(.started(name: "we\"ird", pid: 1), unixNanos: t)
        #expect(line.contains(#""process":"we\"ird""#))
    }

    @Test func flagAndVariable() throws {
        #expect(try parseInvocation(["app"]) { _ in nil } == .run(Plan(containers: [.init(name: "app", argv: ["app"], role: .main)]), RunOptions()))
        guard case .run(_, let fromEnv) = try parseInvocation(["app"], env: { $0 == "USHER_LOG_FORMAT" ? "json" : nil }) else {
            Issue.record("expected run"); return
        }
        #expect(fromEnv.logFormat == .json)
        guard case .run(_, let flagWins) = try parseInvocation(["--log-format", "text", "app"], env: { $0 == "USHER_LOG_FORMAT" ? "json" : nil }) else {
            Issue.record("expected run"); return
        }
        #expect(flagWins.logFormat == .text)
        #expect(throws: UsageError("--log-format: unknown log format \"xml\" (use text or json)")) {
            try parseInvocation(["--log-format=xml", "app"]) { _ in nil }
        }
        #expect(throws: UsageError("USHER_LOG_FORMAT: unknown log format \"yaml\" (use text or json)")) {
            try parseInvocation(["app"]) { $0 == "USHER_LOG_FORMAT" ? "yaml" : nil }
        }
    }
}
