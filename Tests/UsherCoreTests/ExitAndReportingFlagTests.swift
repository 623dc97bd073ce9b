import Testing
@testable import UsherCore

/// The flags and variables for those who run usher: exit-status rules, env files, the status
/// file, termination log, oom_score_adj and sd_notify options, and the `usher status` command.
@Suite struct ExitAndReportingFlags {
    func run(_ args: [String], _ env: [String: String] = [:]) throws -> (Plan, RunOptions) {
        guard case .run(let plan, let options) = try parseInvocation(args, env: { env[$0] }) else {
            Issue.record("expected run")
            return (Plan(containers: []), RunOptions())
        }
        return (plan, options)
    }

    @Test func exitRulesFromFlagsAndVariables() throws {
        let (p, _) = try run(["--remap-exit", "143", "--remap-exit=130", "--stop-is-success", "app"])
        #expect(p.successCodes == [143, 130] && p.stopIsSuccess)
        let (q, _) = try run(["app"], ["USHER_REMAP_EXIT": "1,2", "USHER_STOP_IS_SUCCESS": "yes"])
        #expect(q.successCodes == [1, 2] && q.stopIsSuccess)
        #expect(throws: UsageError("--remap-exit: \"256\" is not an exit status from 0 to 255")) { try run(["--remap-exit", "256", "app"]) }
        #expect(throws: UsageError("USHER_REMAP_EXIT: \"x\" is not an exit status from 0 to 255")) { try run(["app"], ["USHER_REMAP_EXIT": "1,x"]) }
        #expect(throws: UsageError.self) { try run(["--stop-is-success=yes", "app"]) }
    }

    @Test func envFilesGoToEveryProcessOfTheCommandLine() throws {
        let (p, _) = try run(["--sidecar", "log=shipper", "--env-file", "a.env", "--env-file=/etc/b.env", "app"])
        for process in p.containers {
            #expect(process.envFiles == [EnvFileRef(path: "a.env"), EnvFileRef(path: "/etc/b.env")])
        }
        #expect(throws: UsageError("--env-file cannot be used with a config file (use valueFrom.fileKeyRef in pod.yaml)")) {
            try parseInvocation(["--env-file", "a.env", "-f", "pod.yaml"], env: { _ in nil },
                                readFile: { _ throws(UsageError) in Array("containers: [{name: a, command: [a]}]\n".utf8) })
        }
    }

    @Test func reportingOptions() throws {
        let (_, o) = try run(["--status-file", "/tmp/s", "--termination-log", "/tmp/t", "--oom-score-adj", "500", "app"],
                             ["NOTIFY_SOCKET": "@sd"])
        #expect(o.statusFile == "/tmp/s" && o.statusFileNamed && o.terminationLog == "/tmp/t" && o.terminationLogNamed)
        #expect(o.sidecarOOMScoreAdj == 500 && o.notifySocket == "@sd")
        let (_, d) = try run(["app"], ["USHER_OOM_SCORE_ADJ": "-20"])
        #expect(d.statusFile == "/run/usher/status" && !d.statusFileNamed && d.terminationLog == "/dev/termination-log")
        #expect(d.sidecarOOMScoreAdj == -20)
        #expect(throws: UsageError.self) { try run(["--oom-score-adj", "1001", "app"]) }
    }

    @Test func theStatusCommand() throws {
        #expect(try parseInvocation(["status"], env: { _ in nil }) == .status(path: "/run/usher/status", json: false))
        #expect(try parseInvocation(["status", "--format", "json", "--status-file", "/x"], env: { _ in nil }) == .status(path: "/x", json: true))
        #expect(throws: UsageError.self) { try parseInvocation(["status", "--bogus"], env: { _ in nil }) }
    }
}
