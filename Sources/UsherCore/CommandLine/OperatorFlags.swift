/// The flags operators ask every init for, each with its USHER_* variable: exit-code rules, env
/// files, the status file, the termination message, sidecars' oom_score_adj; and `usher status`,
/// which reads the status file. The command line's parser hands them here.
struct OperatorFlags {
    var remapExit: [String] = []
    var stopIsSuccess = false
    var envFiles: [String] = []
    var statusFile: String?
    var terminationLog: String?
    var oomScoreAdj: String?

    /// Takes `name` when it is one of these flags, with `value` giving its value.
    mutating func take(_ name: String, inline: String?, value: () throws(UsageError) -> String) throws(UsageError) -> Bool {
        if same(name, "--remap-exit") {
            remapExit.append(try value())
        } else if same(name, "--stop-is-success") {
            if inline != nil { throw UsageError("--stop-is-success takes no value") }
            stopIsSuccess = true
        } else if same(name, "--env-file") {
            envFiles.append(try value())
        } else if same(name, "--status-file") {
            statusFile = try value()
        } else if same(name, "--termination-log") {
            terminationLog = try value()
        } else if same(name, "--oom-score-adj") {
            oomScoreAdj = try value()
        } else {
            return false
        }
        return true
    }

    /// Applies them (flags over variables) to what runs and how usher reports. `config`: the
    /// config file in use, with which `--env-file` (a process-describing flag) conflicts.
    func apply(to plan: inout Plan, _ options: inout RunOptions, env: (String) -> String?, config: String?) throws(UsageError) {
        let codes = remapExit.isEmpty ? commaList(env("USHER_REMAP_EXIT")).map { ($0, "USHER_REMAP_EXIT") } : remapExit.map { ($0, "--remap-exit") }
        for (text, source) in codes {
            guard let code = Int32(decimal: text), code <= 255 else {
                throw UsageError("\(source): \"\(text)\" is not an exit status from 0 to 255")
            }
            plan.successCodes.append(code)
        }
        plan.stopIsSuccess = stopIsSuccess
        if !stopIsSuccess, let v = env("USHER_STOP_IS_SUCCESS"), !v.isEmpty {
            plan.stopIsSuccess = try yesOrNo(v, "USHER_STOP_IS_SUCCESS")
        }
        let files = envFiles.isEmpty ? commaList(env("USHER_ENV_FILE")) : envFiles
        if !files.isEmpty {
            let what = envFiles.isEmpty ? "USHER_ENV_FILE" : "--env-file"
            if let config { throw UsageError("\(what) cannot be used with a config file (use valueFrom.fileKeyRef in \(config))") }
            if files.contains(where: { $0.isEmpty }) { throw UsageError("\(what): an empty path") }
            for i in plan.processes.indices {
                plan.processes[i].envFiles = files.map { EnvFileRef(path: $0, position: plan.processes[i].env.count) }
            }
        }
        if let path = statusFile ?? nonEmpty(env("USHER_STATUS_FILE")) {
            options.statusFile = path
            options.statusFileNamed = true
        }
        if let path = terminationLog ?? nonEmpty(env("USHER_TERMINATION_LOG")) {
            options.terminationLog = path
            options.terminationLogNamed = true
        }
        if let text = oomScoreAdj ?? nonEmpty(env("USHER_OOM_SCORE_ADJ")) {
            let source = oomScoreAdj != nil ? "--oom-score-adj" : "USHER_OOM_SCORE_ADJ"
            let bytes = Array(text.utf8)
            let negative = bytes.first == 45
            guard let n = Int32(decimal: String(decoding: negative ? bytes.dropFirst() : bytes[...], as: UTF8.self)),
                  n <= 1000 else {
                throw UsageError("\(source): \"\(text)\" is not an oom_score_adj from -1000 to 1000")
            }
            options.sidecarOOMScoreAdj = negative ? -n : n
        }
        options.notifySocket = nonEmpty(env("NOTIFY_SOCKET"))
    }
}

/// `usher status [--status-file PATH] [--format text|json]`.
func parseStatusCommand(_ arguments: ArraySlice<String>, env: (String) -> String?) throws(UsageError) -> Invocation {
    var path = nonEmpty(env("USHER_STATUS_FILE")) ?? defaultStatusPath
    var json = false
    var i = arguments.startIndex
    while i < arguments.endIndex {
        let arg = arguments[i]
        func value() throws(UsageError) -> String {
            i += 1
            guard i < arguments.endIndex else { throw UsageError("\(arg) needs a value") }
            return arguments[i]
        }
        if same(arg, "--status-file") {
            path = try value()
        } else if same(arg, "--format") {
            let f = try value()
            guard same(f, "json") || same(f, "text") else { throw UsageError("--format: unknown format \"\(f)\" (use text or json)") }
            json = same(f, "json")
        } else {
            throw UsageError("usher status: unknown option '\(arg)' (it takes --status-file PATH and --format text|json)")
        }
        i += 1
    }
    return .status(path: path, json: json)
}

private func commaList(_ text: String?) -> [String] {
    guard let text, !text.isEmpty else { return [] }
    return splitBytes(Array(text.utf8)[...], 44, omittingEmpty: false).map { String(decoding: $0, as: UTF8.self) }
}

private func nonEmpty(_ text: String?) -> String? {
    guard let text, !text.isEmpty else { return nil }
    return text
}

func yesOrNo(_ v: String, _ variable: String) throws(UsageError) -> Bool {
    if same(v, "1") || same(v, "true") || same(v, "yes") || same(v, "on") { return true }
    if same(v, "0") || same(v, "false") || same(v, "no") || same(v, "off") { return false }
    throw UsageError("\(variable): \"\(v)\" is not a yes or no (use 1, true, yes, on, or 0, false, no, off)")
}
