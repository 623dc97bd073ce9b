/// The command line and the USHER_* environment, parsed into a Plan. Pure: no I/O, so every
/// rule (a flag wins over its variable, the first error is named precisely) is unit-tested.
public enum Invocation: Equatable {
    case run(Plan, RunOptions)
    /// `usher rehearse ...`: run the plan, stop it as Kubernetes would, and report.
    case rehearse(Plan, RunOptions, RehearseOptions)
    /// `usher check ...`: validate the configuration and print the resolved plan.
    case check(Plan)
    /// `usher status`: read the status file at `path` and report.
    case status(path: String, json: Bool)
    case help
    case version
}

/// How usher reports, as opposed to what it runs (the Plan).
public struct RunOptions: Equatable {
    public enum LogFormat: Equatable {
        case text
        case json
    }

    /// The lifecycle log's form on stderr: short text lines, or JSON lines for log pipelines.
    public var logFormat: LogFormat = .text
    /// Label each line of each child's stdout and stderr with its name (foreman-style).
    public var prefix = false
    /// `--status-file`: where the status file goes (nil: none), and whether the user named it.
    public var statusFile: String? = defaultStatusPath
    public var statusFileNamed = false
    /// `--termination-log`: the termination message's file (Kubernetes' default path).
    public var terminationLog: String? = "/dev/termination-log"
    public var terminationLogNamed = false
    /// `NOTIFY_SOCKET`, when usher runs under systemd or podman `--sdnotify=container`.
    public var notifySocket: String?
    /// `--oom-score-adj`: every sidecar's oom_score_adj.
    public var sidecarOOMScoreAdj: Int32?

    public init(logFormat: LogFormat = .text, prefix: Bool = false) {
        self.logFormat = logFormat
        self.prefix = prefix
    }
}

/// What `usher rehearse` adds to a normal run: when and how to trigger the shutdown, how often,
/// and the report's form.
public struct RehearseOptions: Equatable {
    public enum Format: Equatable {
        case text
        case json
    }

    /// How long after the last process started to send the stop signal.
    public var after: Nanos = nanosPerSecond
    /// The signal sent to usher itself, as the kubelet or `docker stop` would send it.
    public var signal: Int32 = sigterm
    public var repeatCount = 1
    public var format: Format = .text
    /// `--probe URL`: HTTP requests sent throughout, to count the ones dropped in the shutdown.
    public var probes: [HTTPURL] = []
    public var probeTexts: [String] = []
    /// How long after the stop signal probe requests keep coming, as from a load balancer that
    /// has not yet seen the pod go; nil means the preStop delay.
    public var probeFor: Nanos?

    public init() {}
}

public let usherVersion = "0.1.0"

public let usageText = """
    usage: usher [OPTIONS] [--] COMMAND [ARG...]
           usher [OPTIONS] -f FILE
           usher rehearse [OPTIONS] [REHEARSAL OPTIONS] {[--] COMMAND [ARG...] | -f FILE}
           usher check {[OPTIONS] [--] COMMAND [ARG...] | -f FILE}
           usher status [--status-file PATH] [--format text|json]

    Runs COMMAND as the main process of a container, with optional sidecars, as PID 1:
    forwards signals, reaps zombies, and on SIGTERM, SIGINT or SIGQUIT stops the main process
    first and then the sidecars in reverse start order, killing what is left at the deadline.
    With -f, runs the processes a Kubernetes Pod spec describes, with a pod's lifecycle.

    options:
      -f, --config FILE       run what FILE describes: a PodSpec, a Pod, or a workload
                              (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob),
                              in YAML or JSON; no COMMAND then            [USHER_CONFIG]
      --sidecar NAME=COMMAND  start a sidecar before COMMAND; repeatable, started in the order
                              given. COMMAND is split into words like a POSIX shell would
                              (quotes, backslash) but no shell runs.
      --pre-stop DURATION     wait this long after the stop signal before stopping the main
                              process (default 0s)                        [USHER_PRE_STOP]
      --grace DURATION        deadline for the whole shutdown, counted from the stop signal;
                              then SIGKILL to everything left (default 30s)  [USHER_GRACE]
      --min-stop-window DURATION  the least time between a process's stop signal and its
                              SIGKILL (default 2s): at the deadline less this, everything still
                              waiting for its preStop or its turn gets its stop signal
                                                                   [USHER_MIN_STOP_WINDOW]
      --stop-signal SIGNAL    the signal that stops the main process (default SIGTERM)
                                                                       [USHER_STOP_SIGNAL]
      --log-format FORMAT     the lifecycle log on stderr: text (default) or json, one JSON
                              object per line                          [USHER_LOG_FORMAT]
      --prefix                label each line of each process's stdout and stderr with its
                              name, aligned, coloured on a terminal        [USHER_PREFIX]
      --remap-exit CODE       exit 0 where usher would exit CODE; repeatable   [USHER_REMAP_EXIT]
      --stop-is-success       exit 0 when usher was asked to stop and the main process ended
                              by its stop signal                    [USHER_STOP_IS_SUCCESS]
      --env-file FILE         KEY=VALUE lines for every process, read at each start;
                              repeatable                                  [USHER_ENV_FILE]
      --status-file PATH      the status file `usher status` reads (default /run/usher/status
                              when usher is PID 1 and can write it)    [USHER_STATUS_FILE]
      --termination-log PATH  a line saying why the container stopped, written at exit when
                              the file exists (default /dev/termination-log) [USHER_TERMINATION_LOG]
      --oom-score-adj N       every sidecar's oom_score_adj, so that the OOM killer takes one
                              before the main process                 [USHER_OOM_SCORE_ADJ]
      -h, --help              show this help
      --version               show the version

    rehearse: start everything as usher would, send the stop signal as Kubernetes would, run
    the real shutdown, and report each process's timeline and verdict; exit 0 only when every
    process stopped cleanly within the deadline (1 otherwise).
      --after DURATION        send the stop signal this long after every main container is
                              ready (its startup and readiness probes passed; default 1s)
      --signal SIGNAL         the signal to send to usher (default SIGTERM)
      --repeat N              rehearse N times and report the spread (default 1)
      --probe URL             send HTTP GETs to URL (http://IP:PORT/PATH) every 50ms, as a load
                              balancer would; one sent after the stop signal, or in flight at
                              it, that fails is a dropped request and fails the rehearsal
      --probe-for DURATION    keep sending for this long after the stop signal (default: the
                              preStop delay, the time your endpoints need to converge)
      --format FORMAT         the report: text (default) or json, on stdout

    check: validate the command line or FILE and print the resolved plan (start order, gates,
    stop order, signals, hooks, the deadline) without starting anything.

    DURATION: 500ms, 10s, 1m30s; a bare number is seconds. SIGNAL: SIGTERM, TERM or 15.
    A flag wins over its environment variable.

    status: exit 0 when every main container is ready and every sidecar started (for a
    HEALTHCHECK or an exec probe), 1 otherwise; the states on stdout.

    exit status: the main process's status (with -f, as the pod's restartPolicy says); 128+N
    if it died of signal N (137: killed at the deadline); 120 if an init container failed; 2 for
    a usage or configuration error; 127 if a command was not found; 126 if it could not be
    executed; 1 if usher itself failed.

    """

/// Parses `arguments` (without the program name), the environment lookup `env`, and the config
/// file named by `-f` or USHER_CONFIG, read through `readFile`.
public func parseInvocation(
    _ arguments: [String], env: (String) -> String?,
    readFile: (String) throws(UsageError) -> [UInt8] = { path throws(UsageError) in
        throw UsageError(path + ": cannot read config files here")
    }
) throws(UsageError) -> Invocation {
    let a = ParsedArguments()
    if let first = arguments.first, same(first, "status") {
        return try parseStatusCommand(arguments.dropFirst(), env: env)
    }
    if let early = try scanArguments(arguments, into: a) { return early }
    return try resolveInvocation(a, env: env, readFile: readFile)
}

/// What the command line said, before the environment and the config file are consulted. A
/// final class rather than locals: parseInvocation's many error exits then release one object
/// instead of each string and list (kilobytes of cleanup code in the release binary).
private final class ParsedArguments {
    var sidecars: [Plan.Container] = []
    var configFlag: String?
    var preStopFlag: String?
    var graceFlag: String?
    var windowFlag: String?
    var stopSignalFlag: String?
    var logFormatFlag: String?
    var prefixFlag = false
    var operatorFlags = OperatorFlags()
    var command: [String] = []
    var rehearsal: RehearseOptions?
    var checking = false
}

/// Every option usher knows by name (`-h`, `--help` and `--version` aside, which are matched
/// whole), one case per name: a case's raw value is the index of its name in `optionNames`, so
/// that a name is found with one table lookup instead of a comparison per option, and the
/// switches over it read `.grace` rather than a number.
enum CommandLineOption: Int {
    case configShort, config, sidecar, preStop, grace, minStopWindow, stopSignal, logFormat, prefix
    /// The flags OperatorFlags holds.
    case remapExit, stopIsSuccess, envFile, statusFile, terminationLog, oomScoreAdj
    /// `usher rehearse`'s own (`--format` is also `usher status`'s).
    case after, signal, repeatCount, probe, probeFor, format

    /// The option named `name`, compared byte by byte.
    init?(named name: String) {
        guard let i = optionNames.firstIndex(where: { same($0, name) }) else { return nil }
        self.init(rawValue: i)
    }
}

/// The options' names, in the order of CommandLineOption's cases.
private let optionNames = nameList("""
    -f --config --sidecar --pre-stop --grace --min-stop-window --stop-signal --log-format --prefix
    --remap-exit --stop-is-success --env-file --status-file --termination-log --oom-score-adj
    --after --signal --repeat --probe --probe-for --format
    """)

/// The options and the command; returns .help or .version when asked for.
@inline(never)  // size: frame
private func scanArguments(_ arguments: [String], into a: ParsedArguments) throws(UsageError) -> Invocation? {
    var i = 0
    if let first = arguments.first, same(first, "rehearse") {
        a.rehearsal = RehearseOptions()
        i = 1
    } else if let first = arguments.first, same(first, "check") {
        a.checking = true
        i = 1
    }
    while i < arguments.count {
        let arg = arguments[i]
        if same(arg, "--") {
            a.command = Array(arguments[(i + 1)...])
            break
        }
        if same(arg, "-h") || same(arg, "--help") { return .help }
        if same(arg, "--version") { return .version }
        guard arg.utf8.first == 45, arg.utf8.count > 1 else {  // not an option: COMMAND starts
            a.command = Array(arguments[i...])
            break
        }
        // --name=value or --name value
        let (name, inline) = splitOption(arg)
        func value() throws(UsageError) -> String {
            if let inline { return inline }
            i += 1
            guard i < arguments.count else { throw UsageError(name + " needs a value") }
            return arguments[i]
        }
        guard let option = CommandLineOption(named: name), a.rehearsal != nil || option.rawValue < CommandLineOption.after.rawValue else {
            throw UsageError("unknown option '\(name)' (see usher --help)")
        }
        switch option {
        case .configShort, .config:
            a.configFlag = try value()
        case .sidecar:
            a.sidecars.append(try parseSidecar(try value()))
        case .preStop:
            a.preStopFlag = try value()
        case .grace:
            a.graceFlag = try value()
        case .minStopWindow:
            a.windowFlag = try value()
        case .stopSignal:
            a.stopSignalFlag = try value()
        case .logFormat:
            a.logFormatFlag = try value()
        case .prefix:
            if inline != nil { throw UsageError("--prefix takes no value") }
            a.prefixFlag = true
        case .remapExit:
            a.operatorFlags.remapExit.append(try value())
        case .stopIsSuccess:
            if inline != nil { throw UsageError("--stop-is-success takes no value") }
            a.operatorFlags.stopIsSuccess = true
        case .envFile:
            a.operatorFlags.envFiles.append(try value())
        case .statusFile:
            a.operatorFlags.statusFile = try value()
        case .terminationLog:
            a.operatorFlags.terminationLog = try value()
        case .oomScoreAdj:
            a.operatorFlags.oomScoreAdj = try value()
        case .after, .signal, .repeatCount, .probe, .probeFor, .format:
            try takeRehearsalOption(option, try value(), into: a)
        }
        i += 1
    }
    return nil
}

/// One of `usher rehearse`'s own options, with its value.
@inline(never)  // size: frame
private func takeRehearsalOption(_ option: CommandLineOption, _ text: String, into a: ParsedArguments) throws(UsageError) {
    switch option {
    case .after:
        a.rehearsal?.after = try duration(text, what: "--after")
    case .signal:
        guard let sig = parseSignal(text) else {
            throw UsageError("--signal: unknown signal \"\(text)\" (use a name such as SIGTERM or TERM, or a number)")
        }
        // What a rehearsal sends is what the engine sends usher to stop the container. Any
        // other signal usher forwards and nothing stops, so the rehearsal would never end;
        // SIGKILL cannot be rehearsed (usher dies of it and the kernel kills the rest).
        guard isStopRequest(sig) else {
            throw UsageError("--signal: \(signalName(sig)) does not ask usher to stop; a rehearsal sends a stop request: SIGTERM, SIGINT or SIGQUIT")
        }
        a.rehearsal?.signal = sig
    case .repeatCount:
        guard let n = plainDecimal(text, maxDigits: 6), n >= 1, n <= 1000 else {
            throw UsageError("--repeat: \"\(text)\" is not a number of runs from 1 to 1000")
        }
        a.rehearsal?.repeatCount = n
    case .probe:
        guard let url = HTTPURL(text) else {
            throw UsageError("--probe: \"\(text)\" is not an http://HOST:PORT/PATH URL with an IPv4 address or localhost as HOST")
        }
        a.rehearsal?.probes.append(url)
        a.rehearsal?.probeTexts.append(text)
    case .probeFor:
        a.rehearsal?.probeFor = try duration(text, what: "--probe-for")
    case .format:
        if same(text, "text") {
            a.rehearsal?.format = .text
        } else if same(text, "json") {
            a.rehearsal?.format = .json
        } else {
            throw UsageError("--format: unknown report format \"\(text)\" (use text or json)")
        }
    default:
        break
    }
}

/// The plan and options from the scanned command line, the environment and the config file.
@inline(never)  // size: frame
private func resolveInvocation(
    _ a: ParsedArguments, env: (String) -> String?, readFile: (String) throws(UsageError) -> [UInt8]
) throws(UsageError) -> Invocation {
    var plan: Plan
    let config = try setting(flag: "--config", a.configFlag, variable: "USHER_CONFIG", env)
    if let config {
        // The file describes every process: flags that describe them too would compete with it.
        if !a.command.isEmpty {
            throw UsageError("\(config.source) \(config.value) and a command on the command line: use one or the other")
        }
        if !a.sidecars.isEmpty { throw UsageError("--sidecar cannot be used with a config file (add an init container with restartPolicy: Always)") }
        for (flag, variable, field) in [(a.preStopFlag, "--pre-stop", "USHER_PRE_STOP"), (a.stopSignalFlag, "--stop-signal", "USHER_STOP_SIGNAL")] {
            if flag != nil || !(env(field) ?? "").isEmpty {
                let what = flag != nil ? variable : field
                let instead = same(variable, "--pre-stop") ? "lifecycle.preStop" : "lifecycle.stopSignal"
                throw UsageError("\(what) cannot be used with a config file (set \(instead) in \(config.value))")
            }
        }
        plan = try decodeConfig(try readFile(config.value), file: config.value)
    } else {
        guard let program = a.command.first, !program.isEmpty else {
            throw UsageError("no command given (usage: usher [OPTIONS] [--] COMMAND [ARG...], or usher -f FILE)")
        }
        for (n, sidecar) in a.sidecars.enumerated() where a.sidecars[..<n].contains(where: { same($0.name, sidecar.name) }) {
            throw UsageError("--sidecar \(sidecar.name): the name is used twice")
        }
        var main = Plan.Container(name: baseName(program), argv: a.command, role: .main)
        if let text = try setting(flag: "--pre-stop", a.preStopFlag, variable: "USHER_PRE_STOP", env) {
            let wait = try duration(text.value, what: text.source)
            if wait > 0 { main.preStop = .sleep(wait) }
        }
        if let text = try setting(
            flag: "--stop-signal", a.stopSignalFlag, variable: "USHER_STOP_SIGNAL", env)
        {
            guard let sig = parseSignal(text.value) else {
                throw UsageError("\(text.source): unknown signal \"\(text.value)\" (use a name such as SIGTERM or TERM, or a number)")
            }
            // The Pod spec's rule for lifecycle.stopSignal.
            if let problem = stopSignalProblem(sig) { throw UsageError(text.source + ": " + problem) }
            main.stopSignal = sig
        }
        plan = Plan(containers: a.sidecars + [main])
    }
    let grace = try setting(flag: "--grace", a.graceFlag, variable: "USHER_GRACE", env)
    if let grace { plan.grace = try duration(grace.value, what: grace.source) }
    if let window = try setting(flag: "--min-stop-window", a.windowFlag, variable: "USHER_MIN_STOP_WINDOW", env) {
        plan.minStopWindow = try duration(window.value, what: window.source)
    }
    // The Pod spec's rule for a preStop sleep, over the final plan: --pre-stop against the grace
    // period, or a file's preStop sleeps against a --grace that overrides its own.
    let preStop = try setting(flag: "--pre-stop", a.preStopFlag, variable: "USHER_PRE_STOP", env)
    try checkPreStops(plan, graceSource: grace?.source, preStopSource: preStop?.source ?? "--pre-stop", config: config?.value)
    var options = RunOptions()
    if let text = try setting(flag: "--log-format", a.logFormatFlag, variable: "USHER_LOG_FORMAT", env) {
        if same(text.value, "text") {
            options.logFormat = .text
        } else if same(text.value, "json") {
            options.logFormat = .json
        } else {
            throw UsageError("\(text.source): unknown log format \"\(text.value)\" (use text or json)")
        }
    }
    if a.prefixFlag {
        options.prefix = true
    } else if let v = env("USHER_PREFIX"), !v.isEmpty {
        options.prefix = try yesOrNo(v, "USHER_PREFIX")
    }
    try a.operatorFlags.apply(to: &plan, &options, env: env, config: config?.value)
    if a.checking { return .check(plan) }
    if let rehearsal = a.rehearsal { return .rehearse(plan, options, rehearsal) }
    return .run(plan, options)
}

/// Every preStop sleep of `plan` fits in its grace period (the rule in StopRules.swift). The
/// error names the flag or variable that set the grace (`graceSource`, nil for the default) or
/// the preStop delay, and with a config file the container.
@inline(never)  // size: frame
private func checkPreStops(_ plan: Plan, graceSource: String?, preStopSource: String, config: String?) throws(UsageError) {
    for p in plan.containers {
        guard case .sleep(let wait)? = p.preStop,
              let problem = preStopProblem(wait, grace: plan.grace, graceSource: graceSource ?? "the default: set --grace or USHER_GRACE")
        else { continue }
        if let config, let graceSource { throw UsageError(graceSource + ": " + p.name + " in " + config + ": " + problem) }
        throw UsageError(preStopSource + ": " + problem)
    }
}

/// `--name=value` and `-fFILE` (the one short option with a value, written attached as getopt
/// allows) into name and value; other words as they are.
private func splitOption(_ arg: String) -> (String, String?) {
    let bytes = Array(arg.utf8)
    if bytes.count > 2, bytes[0] == 45, bytes[1] == 102 {  // -f...
        return ("-f", String(decoding: bytes[2...], as: UTF8.self))
    }
    guard bytes.count > 2, bytes[1] == 45, let eq = bytes.firstIndex(of: 61) else { return (arg, nil) }
    return (String(decoding: bytes[..<eq], as: UTF8.self),
            String(decoding: bytes[(eq + 1)...], as: UTF8.self))
}

/// A flag wins over its variable; an empty variable counts as unset.
private func setting(
    flag: String, _ flagValue: String?, variable: String, _ env: (String) -> String?
) throws(UsageError) -> (value: String, source: String)? {
    if let flagValue { return (flagValue, flag) }
    if let v = env(variable), !v.isEmpty { return (v, variable) }
    return nil
}

private func duration(_ text: String, what: String) throws(UsageError) -> Nanos {
    guard let d = parseDuration(text) else {
        throw UsageError("\(what): invalid duration \"\(text)\" (use e.g. 500ms, 10s, 1m30s, or a number of seconds)")
    }
    return d
}

/// `NAME=COMMAND`: NAME is a short label for the log (letters, digits, `-`, `_`, `.`).
private func parseSidecar(_ text: String) throws(UsageError) -> Plan.Container {
    let bytes = Array(text.utf8)
    guard let eq = bytes.firstIndex(of: 61) else {
        throw UsageError("--sidecar \"\(text)\": expected NAME=COMMAND")
    }
    let name = String(decoding: bytes[..<eq], as: UTF8.self)
    let commandText = String(decoding: bytes[(eq + 1)...], as: UTF8.self)
    let nameOK = !bytes[..<eq].isEmpty && bytes[..<eq].allSatisfy { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95 || b == 46
    }
    guard nameOK else {
        throw UsageError("--sidecar \"\(text)\": the name \"\(name)\" must be letters, digits, '-', '_' or '.'")
    }
    let argv: [String]
    do {
        argv = try splitWords(commandText)
    } catch {
        throw UsageError("--sidecar \(name): \(error.message) in \"\(commandText)\"")
    }
    guard let first = argv.first, !first.isEmpty else {
        throw UsageError("--sidecar \(name): empty command")
    }
    return Plan.Container(name: name, argv: argv, role: .sidecar)
}


