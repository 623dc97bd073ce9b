import Testing
@testable import UsherCore

@Suite struct CommandLineParsing {
    func parse(_ args: [String], env: [String: String] = [:]) throws(UsageError) -> Invocation {
        try parseInvocation(args) { env[$0] }
    }

    func plan(_ args: [String], env: [String: String] = [:]) throws -> Plan {
        guard case .run(let plan, _) = try parse(args, env: env) else {
            Issue.record("expected a plan")
            return Plan(containers: [])
        }
        return plan
    }

    func error(_ args: [String], env: [String: String] = [:]) -> String {
        do {
            _ = try parse(args, env: env)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test func defaults() throws {
        let p = try plan(["app", "--port", "80"])
        #expect(p.containers == [.init(name: "app", argv: ["app", "--port", "80"], role: .main)])
        #expect(p.containers[0].preStop == nil)
        #expect(p.grace == 30 * second)
        #expect(p.containers[0].stopSignal == sigterm)
    }

    @Test func allFlagsBothSpellings() throws {
        let p = try plan(["--sidecar", "log=tail -f '/var/log/a b'", "--sidecar=proxy=envoy -c x.yaml",
                          "--pre-stop", "5s", "--grace=1m", "--stop-signal", "SIGQUIT", "--", "/usr/bin/app", "-v"])
        #expect(p.containers.map(\.argv) == [["tail", "-f", "/var/log/a b"], ["envoy", "-c", "x.yaml"], ["/usr/bin/app", "-v"]])
        #expect(p.containers.map(\.name) == ["log", "proxy", "app"])
        #expect(p.containers.map(\.role) == [.sidecar, .sidecar, .main])
        #expect(p.containers[2].preStop == .sleep(5 * second))
        #expect(p.grace == 60 * second)
        #expect(p.containers[2].stopSignal == sigquit)
        #expect(p.containers[0].preStop == nil && p.containers[0].stopSignal == sigterm, "the flags are the main's")
    }

    @Test func optionsAfterTheCommandBelongToIt() throws {
        let p = try plan(["app", "--grace", "1s"])
        #expect(p.containers[0].argv == ["app", "--grace", "1s"])
        #expect(p.grace == 30 * second)
        let q = try plan(["--", "--weird-name"])
        #expect(q.containers[0].argv == ["--weird-name"])
    }

    @Test func environmentSetsValuesAndFlagsWin() throws {
        let env = ["USHER_PRE_STOP": "3s", "USHER_GRACE": "45s", "USHER_STOP_SIGNAL": "INT"]
        let fromEnv = try plan(["app"], env: env)
        #expect(fromEnv.containers[0].preStop == .sleep(3 * second))
        #expect(fromEnv.grace == 45 * second)
        #expect(fromEnv.containers[0].stopSignal == sigint)
        let flagsWin = try plan(["--pre-stop", "1s", "--grace", "2s", "--stop-signal", "HUP", "app"], env: env)
        #expect(flagsWin.containers[0].preStop == .sleep(1 * second))
        #expect(flagsWin.grace == 2 * second)
        #expect(flagsWin.containers[0].stopSignal == sighup)
        // A flag wins even over a bad variable: the variable is not read at all.
        #expect(try plan(["--grace", "2s", "app"], env: ["USHER_GRACE": "junk"]).grace == 2 * second)
        // An empty variable counts as unset.
        #expect(try plan(["app"], env: ["USHER_GRACE": ""]).grace == 30 * second)
    }

    @Test func helpAndVersion() throws {
        #expect(try parse(["--help"]) == .help)
        #expect(try parse(["-h", "app"]) == .help)
        #expect(try parse(["--version"]) == .version)
        #expect(try parse(["app", "--help"]) != .help, "after the command, --help is the app's")
    }

    @Test func errorsNameTheFlagAndTheValue() {
        #expect(error([]) == "no command given (usage: usher [OPTIONS] [--] COMMAND [ARG...], or usher -f FILE)")
        #expect(error(["--"]) == "no command given (usage: usher [OPTIONS] [--] COMMAND [ARG...], or usher -f FILE)")
        #expect(error(["--gracee", "1s", "app"]) == "unknown option '--gracee' (see usher --help)")
        #expect(error(["-x", "app"]) == "unknown option '-x' (see usher --help)")
        #expect(error(["--grace"]) == "--grace needs a value")
        #expect(error(["--grace", "abc", "app"]).hasPrefix("--grace: invalid duration \"abc\""))
        #expect(error(["--pre-stop", "5x", "app"]).hasPrefix("--pre-stop: invalid duration \"5x\""))
        #expect(error(["--stop-signal", "SIGFOO", "app"]).hasPrefix("--stop-signal: unknown signal \"SIGFOO\""))
        #expect(error(["app"], env: ["USHER_GRACE": "soon"]).hasPrefix("USHER_GRACE: invalid duration \"soon\""))
        #expect(error(["app"], env: ["USHER_PRE_STOP": "x"]).hasPrefix("USHER_PRE_STOP: invalid duration"))
        #expect(error(["app"], env: ["USHER_STOP_SIGNAL": "NOPE"]).hasPrefix("USHER_STOP_SIGNAL: unknown signal \"NOPE\""))
        #expect(error(["--sidecar", "nocommand", "app"]) == "--sidecar \"nocommand\": expected NAME=COMMAND")
        #expect(error(["--sidecar", "=sleep 1", "app"]).hasPrefix("--sidecar \"=sleep 1\": the name \"\""))
        #expect(error(["--sidecar", "a b=sleep 1", "app"]).hasPrefix("--sidecar \"a b=sleep 1\": the name \"a b\""))
        #expect(error(["--sidecar", "x=", "app"]) == "--sidecar x: empty command")
        #expect(error(["--sidecar", "x=sh -c 'oops", "app"]) == "--sidecar x: unterminated single quote in \"sh -c 'oops\"")
        #expect(error(["--sidecar", "x=a", "--sidecar", "x=b", "app"]) == "--sidecar x: the name is used twice")
        #expect(error([""]).hasPrefix("no command given"))
    }

    @Test func mainNameIsTheCommandsBaseName() throws {
        #expect(try plan(["/usr/local/bin/server"]).containers[0].name == "server")
        #expect(try plan(["./run.sh"]).containers[0].name == "run.sh")
        #expect(baseName("dir/") == "dir/")
    }
}

@Suite struct ConfigFlag {
    func invocation(_ args: [String], env: [String: String] = [:]) throws(UsageError) -> Invocation {
        try parseInvocation(args, env: { env[$0] }, readFile: { path throws(UsageError) in
            guard same(path, "pod.yaml") else { throw UsageError("\(path): no such file") }
            return Array("containers: [{name: app, command: [app]}]\n".utf8)
        })
    }

    @Test(arguments: [["-f", "pod.yaml"], ["-fpod.yaml"], ["--config", "pod.yaml"], ["--config=pod.yaml"]])
    func spellings(args: [String]) throws {
        guard case .run(let plan, _) = try invocation(args) else { Issue.record("not a run"); return }
        #expect(plan.containers.map(\.name) == ["app"])
    }

    @Test func theVariableAndTheFlagWins() throws {
        guard case .run(let plan, _) = try invocation([], env: ["USHER_CONFIG": "pod.yaml"]) else { Issue.record("not a run"); return }
        #expect(plan.containers.count == 1)
        #expect(throws: UsageError("other.yaml: no such file")) { try invocation(["-f", "other.yaml"], env: ["USHER_CONFIG": "pod.yaml"]) }
    }

    @Test func theGraceFlagOverridesTheFile() throws {
        guard case .run(let plan, _) = try invocation(["--grace", "3s", "-f", "pod.yaml"]) else { Issue.record("not a run"); return }
        #expect(plan.grace == 3 * second)
    }

    @Test(arguments: [
        (["-f", "pod.yaml", "app"], "--config pod.yaml and a command on the command line: use one or the other"),
        (["--sidecar", "a=b", "-f", "pod.yaml"], "--sidecar cannot be used with a config file (add an init container with restartPolicy: Always)"),
        (["--pre-stop", "1s", "-f", "pod.yaml"], "--pre-stop cannot be used with a config file (set lifecycle.preStop in pod.yaml)"),
        (["--stop-signal", "INT", "-f", "pod.yaml"], "--stop-signal cannot be used with a config file (set lifecycle.stopSignal in pod.yaml)"),
    ] as [([String], String)])
    func conflicts(args: [String], message: String) {
        #expect(throws: UsageError(message)) { try invocation(args) }
    }

    @Test func aVariableThatDescribesProcessesConflictsToo() {
        #expect(throws: UsageError("USHER_PRE_STOP cannot be used with a config file (set lifecycle.preStop in pod.yaml)")) {
            try invocation(["-f", "pod.yaml"], env: ["USHER_PRE_STOP": "2s"])
        }
    }

    @Test func checkPrintsThePlanInOrder() throws {
        guard case .check(let plan) = try invocation(["check", "-f", "pod.yaml"]) else { Issue.record("not a check"); return }
        let text = planText(plan)
        #expect(text.hasPrefix("start order:\n  1. app: main container\n     command: app\n"))
        #expect(text.contains("one deadline of 30s for the whole shutdown"))
        #expect(text.contains("  1. app: SIGTERM\n"))
    }
}

/// One rule set for both front ends. The command line (flags and USHER_*
/// variables) refuses what the Pod spec refuses, with an error naming the flag or variable.
@Suite struct OneRuleSet {
    func error(_ args: [String], env: [String: String] = [:], file: String = "") -> String? {
        do {
            _ = try parseInvocation(args, env: { env[$0] }, readFile: { _ throws(UsageError) in Array(file.utf8) })
            return nil
        } catch {
            return error.message
        }
    }

    func podError(stopSignal: String) -> String? {
        do {
            _ = try decodeConfig(Array("containers:\n  - name: app\n    command: [app]\n    lifecycle: {stopSignal: \"\(stopSignal)\"}\nos: {name: linux}\n".utf8), file: "pod.yaml")
            return nil
        } catch {
            return error.message
        }
    }

    /// The name the Kubernetes API gives signal `n` (the pod spec takes only those), nil for
    /// the C library's 32 and 33, which have none.
    func apiName(_ n: Int32) -> String? {
        if n == 32 || n == 33 { return nil }
        if n >= 34 && n <= 49 { return n == 34 ? "SIGRTMIN" : "SIGRTMIN+\(n - 34)" }
        if n >= 50 { return n == 64 ? "SIGRTMAX" : "SIGRTMAX-\(64 - n)" }
        return signalName(n)
    }

    @Test(arguments: ["KILL", "SIGKILL", "9", "STOP", "sigstop", "19"])
    func uncatchableStopSignals(text: String) {
        let name = parseSignal(text) == sigkill ? "SIGKILL" : "SIGSTOP"
        let because = "\(name) cannot be caught, so it cannot ask for a graceful stop (use a signal such as SIGTERM)"
        #expect(error(["--stop-signal", text, "app"]) == "--stop-signal: " + because)
        #expect(error(["app"], env: ["USHER_STOP_SIGNAL": text]) == "USHER_STOP_SIGNAL: " + because)
        #expect(podError(stopSignal: name) == "pod.yaml:4:29: containers[0].lifecycle.stopSignal: " + because)
    }

    @Test func theLibcSignalsAreRefusedByBoth() {
        #expect(error(["--stop-signal", "32", "app"]) == "--stop-signal: SIG32 is reserved by the C library (use a signal such as SIGTERM)")
        #expect(podError(stopSignal: "SIG33")?.contains("unknown signal") == true, "the API has no name for it")
    }

    /// Every signal number: accepted by the command line exactly when the Pod spec accepts it
    /// under its API name (the pod spec takes no other spelling, as the API server).
    @Test func bothFrontEndsAgreeOnEverySignal() {
        for n: Int32 in 1...64 {
            let cli = error(["--stop-signal", "\(n)", "app"]) == nil
            let pod = apiName(n).map { podError(stopSignal: $0) == nil } ?? false
            #expect(cli == pod, "signal \(n): command line \(cli), pod spec \(pod)")
        }
        for spelling in ["TERM", "15", "sigterm", "SIGRTMIN+16", "SIGRTMAX-15", "SIGRTMIN+01"] {
            #expect(podError(stopSignal: spelling)?.contains("unknown signal") == true, "\(spelling)")
        }
    }

    @Test func aPreStopLongerThanTheGrace() {
        #expect(error(["--pre-stop", "40s", "app"])
            == "--pre-stop: a preStop sleep of 40s is longer than the grace period of 30s (the default: set --grace or USHER_GRACE), which it counts against")
        #expect(error(["--pre-stop", "2s", "--grace", "1s", "app"])
            == "--pre-stop: a preStop sleep of 2s is longer than the grace period of 1s (--grace), which it counts against")
        #expect(error(["app"], env: ["USHER_PRE_STOP": "2s", "USHER_GRACE": "1500ms"])
            == "USHER_PRE_STOP: a preStop sleep of 2s is longer than the grace period of 1.500s (USHER_GRACE), which it counts against")
        #expect(error(["--pre-stop", "30s", "app"]) == nil, "as long as the grace is allowed, as in Kubernetes")
        #expect(error(["--pre-stop", "1s", "--grace", "0", "app"]) != nil)
        #expect(error(["--pre-stop", "0s", "--grace", "0", "app"]) == nil)
    }

    @Test func theGraceFlagOverAFileWithALongerPreStopSleep() {
        let file = "containers:\n  - name: app\n    command: [app]\n    lifecycle: {preStop: {sleep: {seconds: 10}}}\n"
        #expect(error(["-f", "pod.yaml"], file: file) == nil)
        #expect(error(["--grace", "5s", "-f", "pod.yaml"], file: file)
            == "--grace: app in pod.yaml: a preStop sleep of 10s is longer than the grace period of 5s (--grace), which it counts against")
        #expect(error(["-f", "pod.yaml"], env: ["USHER_GRACE": "9s"], file: file)
            == "USHER_GRACE: app in pod.yaml: a preStop sleep of 10s is longer than the grace period of 9s (USHER_GRACE), which it counts against")
    }

    @Test func thePodSpecSaysItTheSameWay() {
        let pod = "terminationGracePeriodSeconds: 5\ncontainers:\n  - name: app\n    command: [app]\n    lifecycle: {preStop: {sleep: {seconds: 10}}}\n"
        do {
            _ = try decodeConfig(Array(pod.utf8), file: "pod.yaml")
            Issue.record("decoded")
        } catch {
            #expect(error.message == "pod.yaml:5:44: containers[0].lifecycle.preStop.sleep.seconds: a preStop sleep of 10s is longer than the grace period of 5s (terminationGracePeriodSeconds), which it counts against")
        }
    }
}
