/// The lifecycle log as JSON lines (`--log-format json`), for log pipelines that alert on events
/// such as `killed_at_deadline`. One object per line, always with `time`, `level`, `event` and
/// `message` (the text form); the other fields appear where the event has them:
/// `process`, `pid`, `signal`, `status` (usher's or the process's exit status, 128+N for a
/// signal), `duration_ms` (how long the process or a hook ran), `stop_duration_ms` (from its stop
/// signal to its exit), `grace_ms`, `window_ms` (the stop window), `reason`, `hook_pid` (a hook's
/// command), `probe` and `failures` (a probe that failed), `delay_ms` and `restart` (a
/// restart), `remaining` (main containers still to finish), `count` (processes a container left
/// behind). Like the text form, it never holds environment values
/// or command arguments.
public func logJSON(_ record: LogRecord, unixNanos: Nanos) -> String {
    var o = JSONObject()
    o.string("time", formatTimestamp(unixNanos: unixNanos))
    switch record {
    case .started(let name, let pid):
        o.head("info", "started"); o.process(name, pid)
    case .startFailed(let name, let failure):
        o.head("error", "start_failed"); o.string("process", name)
        o.number("status", Int64(failure.code)); o.string("reason", failure.reason)
    case .signalReceived(let sig, let grace):
        o.head("info", "stop_requested"); o.string("signal", signalName(sig))
        o.number("grace_ms", grace / 1_000_000)
    case .stopAlreadyUnderway(let sig):
        o.head("warn", "stop_repeated"); o.string("signal", signalName(sig))
    case .stopJoinsShutdown(let sig):
        o.head("info", "stop_requested"); o.string("signal", signalName(sig))
    case .hookSleep(let name, let pid, let kind, let wait):
        o.head("info", kind == .preStop ? "pre_stop" : "post_start"); o.process(name, pid)
        o.number("duration_ms", wait / 1_000_000)
    case .hookStarted(let name, let pid, let kind, let hookPid):
        o.head("info", kind == .preStop ? "pre_stop" : "post_start"); o.process(name, pid)
        if let hookPid { o.number("hook_pid", Int64(hookPid)) }
    case .hookEnded(let name, let kind, let hookPid, let result, let ran):
        o.head(result.passed ? "info" : (kind == .postStart ? "error" : "warn"),
               kind == .preStop ? "pre_stop_exited" : "post_start_exited")
        o.string("process", name)
        if let hookPid { o.number("hook_pid", Int64(hookPid)) }
        if let status = result.status {
            o.number("status", Int64(status.code))
            if case .signaled(let s) = status { o.string("signal", signalName(s)) }
        } else {
            o.string("reason", result.detail)
        }
        o.number("duration_ms", ran / 1_000_000)
    case .stopping(let name, let pid, let sig):
        o.head("info", "stopping"); o.process(name, pid)
        o.string("signal", signalName(sig))
    case .stopWindow(let name, let pid, let sig, let window, let cutShort):
        o.head("warn", "stop_window"); o.process(name, pid)
        o.string("signal", signalName(sig)); o.number("window_ms", window / 1_000_000)
        o.string("reason", cutShort ? "pre_stop_cut_short" : "turn_not_come")
    case .graceShorterThanWindow(let grace, let window):
        o.head("warn", "grace_shorter_than_window")
        o.number("grace_ms", grace / 1_000_000); o.number("window_ms", window / 1_000_000)
    case .mainDone(let name, let remaining):
        o.head("info", "main_done"); o.string("process", name)
        o.number("remaining", Int64(remaining))
    case .stoppingForRestart(let name, let pid, let reason, let restart):
        o.head("warn", restart == false ? "stopping_not_restarted" : "stopping_for_restart")
        o.process(name, pid); o.string("reason", reason)
    case .restartCancelled(let name, let last):
        o.head("warn", "restart_cancelled"); o.string("process", name)
        o.number("status", Int64(last.code))
    case .leftoversKilled(let name, let pid, let count):
        o.head("warn", "leftovers_killed"); o.process(name, pid)
        o.number("count", Int64(count)); o.string("signal", "SIGKILL")
    case .exited(let name, let pid, let status, let ran, let afterSignal, _, _):
        let clean: Bool
        if case .exited(0) = status { clean = true } else { clean = false }
        o.head(clean ? "info" : "warn", "exited"); o.process(name, pid)
        o.number("status", Int64(status.code))
        if case .signaled(let s) = status { o.string("signal", signalName(s)) }
        o.number("duration_ms", ran / 1_000_000)
        if let afterSignal { o.number("stop_duration_ms", afterSignal / 1_000_000) }
    case .oomKilled(let name, let pid, let limit):
        o.head("error", "oom_killed"); o.process(name, pid)
        if let limit { o.string(limit.jsonKey, limit.value) }
    case .oomKillInContainer(let limit):
        o.head("error", "oom_kill_in_container")
        if let limit { o.string(limit.jsonKey, limit.value) }
    case .startupProbePassed(let name, let pid, let after):
        o.head("info", "started_up"); o.process(name, pid)
        o.number("duration_ms", after / 1_000_000)
    case .ready(let name, let pid):
        o.head("info", "ready"); o.process(name, pid)
    case .notReady(let name, let pid, let detail):
        o.head("warn", "not_ready"); o.process(name, pid)
        o.string("reason", detail)
    case .probeFailed(let name, let pid, let kind, let failures, let detail):
        o.head("error", "probe_failed"); o.process(name, pid)
        o.string("probe", probeName(kind)); o.number("failures", Int64(failures)); o.string("reason", detail)
    case .restartScheduled(let name, let delay, let restart):
        o.head("warn", "restart_scheduled"); o.string("process", name)
        o.number("delay_ms", delay / 1_000_000); o.number("restart", Int64(restart))
    case .startupFailed(let reason):
        o.head("error", "startup_failed"); o.string("reason", reason)
    case .forcedStop(let sig, _):
        o.head("warn", "forced_stop"); o.string("signal", signalName(sig))
    case .killedOnRequest(let name, let pid):
        o.head("warn", "killed_on_request"); o.process(name, pid)
        o.string("signal", "SIGKILL")
    case .killedAtDeadline(let name, let pid):
        o.head("error", "killed_at_deadline"); o.process(name, pid)
        o.string("signal", "SIGKILL")
    case .exiting(let code):
        o.head("info", "exiting"); o.number("status", Int64(code))
    case .statusFile(let path, let problem):
        o.head(problem == nil ? "info" : "warn", "status_file"); o.string("path", path)
        if let problem { o.string("reason", problem) }
    }
    o.string("message", logText(record))
    return o.text + "}"
}

/// Just enough of a JSON writer for usher's log lines and reports.
struct JSONObject {
    private(set) var text = "{"

    mutating func string(_ key: String, _ value: String) {
        field(key)
        text += "\"" + escapeJSON(value) + "\""
    }

    mutating func number(_ key: String, _ value: Int64) {
        field(key)
        text += "\(value)"
    }

    /// A value already in JSON form (a decimal, a boolean, an array).
    mutating func raw(_ key: String, _ json: String) {
        field(key)
        text += json
    }

    /// `level` and `event`, which every log line has: one call out of line rather than two at
    /// each of logJSON's cases.
    @inline(never)  // size: shared
    mutating func head(_ level: String, _ event: String) {
        string("level", level)
        string("event", event)
    }

    mutating func process(_ name: String, _ pid: Int32) {
        string("process", name)
        number("pid", Int64(pid))
    }

    private mutating func field(_ key: String) {
        if text.utf8.count > 1 { text += "," }
        text += "\"" + key + "\":"
    }
}

/// Escapes a string for a JSON string literal: quote, backslash and control characters. Works
/// on UTF-8 bytes; a byte that is not UTF-8 (carried from the command line, see OSString) is
/// shown as the text `\xNN`, since a JSON string cannot hold it.
func escapeJSON(_ s: String) -> String {
    var out: [UInt8] = []
    for b in OSString.printable(s, controls: false).utf8 {
        switch b {
        case 34: out += [92, 34]  // \"
        case 92: out += [92, 92]  // \\
        case 0..<32: appendEscaped(b, to: &out, json: true)  // \n, \r, \t, \u00XX
        default: out.append(b)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

extension MemoryLimit {
    /// Its key in the JSON log.
    var jsonKey: String { cgroupV1 ? "memory_limit_in_bytes" : "memory_max" }
}
