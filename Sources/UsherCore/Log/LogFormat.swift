/// The text form of a lifecycle log line, after the timestamp: `usher: app[12] started`.
/// Never includes environment values or command arguments (they may hold secrets).
public func logText(_ record: LogRecord) -> String {
    switch record {
    case .started(let name, let pid):
        return tagged(name, pid, " started")
    case .startFailed(let name, let failure):
        return "\(name) could not be started: \(failure.reason)"
    case .signalReceived(let sig, let grace):
        return "received \(signalName(sig)), shutting down (deadline in \(formatDuration(grace)))"
    case .stopAlreadyUnderway(let sig):
        return "received \(signalName(sig)) again; the shutdown already under way continues"
    case .stopJoinsShutdown(let sig):
        return "received \(signalName(sig)); the shutdown already under way continues"
    case .hookSleep(let name, let pid, let kind, let wait):
        return kind == .preStop
            ? tagged(name, pid, " preStop: waiting \(formatDuration(wait)) before its stop signal")
            : tagged(name, pid, " postStart: waiting \(formatDuration(wait))")
    case .hookStarted(let name, let pid, let kind, let hookPid):
        return tagged(name, pid, " \(hookName(kind)): ") + (hookPid.map { "hook[\($0)] started" } ?? "hook started")
    case .hookEnded(let name, let kind, let hookPid, let result, let ran):
        let hook = "\(name) \(hookName(kind)): " + (hookPid.map { "hook[\($0)]" } ?? "hook")
        if let status = result.status { return hook + " exited with \(status.description) after \(formatSeconds(ran))" }
        if result.passed { return hook + " answered \(result.detail) after \(formatSeconds(ran))" }
        return hook + " failed: \(result.detail)"
    case .stopping(let name, let pid, let sig):
        return tagged(name, pid, " stopping with \(signalName(sig))")
    case .stopWindow(let name, let pid, let sig, let window, let cutShort):
        return tagged(name, pid, " stopping with \(signalName(sig)) \(formatDuration(window)) before its deadline, ")
            + (cutShort ? "its preStop cut short" : "before its turn") + " (stop window)"
    case .graceShorterThanWindow(let grace, let window):
        return "the grace period (\(formatDuration(grace))) is no longer than the stop window (\(formatDuration(window))): every stop signal goes out now"
    case .mainDone(let name, let remaining):
        return "\(name) is done and not restarted (restart policy); \(remaining) main container(s) still to finish"
    case .stoppingForRestart(let name, let pid, let reason, let restart):
        let head = restart == nil ? " is stopped: "
            : restart == true ? " is stopped to be restarted: " : " is stopped and not restarted (restart policy Never): "
        return tagged(name, pid, head + reason + (restart == nil ? "; its restart rules decide by its exit status" : ""))
    case .restartCancelled(let name, let last):
        return "\(name) is not restarted: the shutdown began during its restart back-off; its last run's \(last.description) is its final status"
    case .leftoversKilled(let name, let pid, let count):
        return tagged(name, pid, " left \(count) process(es) behind in its process group or session: SIGKILL")
    case .exited(let name, let pid, let status, let ran, let afterSignal, let role, let shuttingDown):
        var text = tagged(name, pid, " exited with \(status.description)")
        if let afterSignal {
            text += " \(formatSeconds(afterSignal)) after its stop signal"
        } else {
            text += " after running \(formatSeconds(ran))"
        }
        if role == .initStep && !shuttingDown && status == .exited(0) { text += ": init done" }
        return text
    case .oomKilled(let name, let pid, let limit):
        return tagged(name, pid, " was killed by the kernel's OOM killer") + limitSuffix(limit)
    case .oomKillInContainer(let limit):
        return "an OOM kill in the container" + limitSuffix(limit)
    case .startupProbePassed(let name, let pid, let after):
        return tagged(name, pid, " startup probe passed \(formatSeconds(after)) after its start")
    case .ready(let name, let pid):
        return tagged(name, pid, " is ready")
    case .notReady(let name, let pid, let detail):
        return tagged(name, pid, " is not ready: \(detail)")
    case .probeFailed(let name, let pid, let kind, let failures, let detail):
        return tagged(name, pid, " \(probeName(kind)) probe failed \(times(failures))")
            + (failures == 1 ? "" : " in a row") + " (last: \(detail))"
    case .restartScheduled(let name, let delay, let restart):
        return delay == 0
            ? "\(name) will be restarted now (restart \(restart))"
            : "\(name) will be restarted in \(formatDuration(delay)) (restart \(restart), back-off)"
    case .startupFailed(let reason):
        return "startup stopped: \(reason)"
    case .forcedStop(let sig, let times):
        return "received \(signalName(sig)) \(times) times: SIGKILL to everything now"
    case .killedOnRequest(let name, let pid):
        return tagged(name, pid, " killed: SIGKILL")
    case .killedAtDeadline(let name, let pid):
        return tagged(name, pid, " still running at the deadline: SIGKILL")
    case .exiting(let code):
        return "exiting with status \(code)"
    case .statusFile(let path, let problem?):
        return "the status file \(path) cannot be written (\(problem)): removed, and written again once it can be"
    case .statusFile(let path, nil):
        return "the status file \(path) is written again"
    }
}

/// `app[12]` and `rest`: out of line, as the 18 texts that begin so would each build it.
@inline(never)  // size: shared
func tagged(_ name: String, _ pid: Int32, _ rest: String) -> String { "\(name)[\(pid)]\(rest)" }

/// ` (memory.max 1048576)`, or nothing without a limit: out of line, for the two OOM texts.
@inline(never)  // size: shared
func limitSuffix(_ limit: MemoryLimit?) -> String { limit.map { " (\($0.file) \($0.value))" } ?? "" }

/// `once`, `3 times`.
func times(_ n: Int) -> String { n == 1 ? "once" : "\(n) times" }

/// `2026-11-23T07:02:11.120Z` for a time in nanoseconds since the Unix epoch. Plain integer
/// arithmetic (Howard Hinnant's civil-from-days) instead of gmtime_r: glibc's time-zone code
/// would add 135 KB to the static binary for a conversion that needs no time zone.
public func formatTimestamp(unixNanos: Nanos) -> String {
    let millisTotal = unixNanos / 1_000_000
    let ms = millisTotal % 1000
    let secondsTotal = millisTotal / 1000
    let days = secondsTotal / 86400
    let secondOfDay = secondsTotal % 86400
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ v: Int64, _ width: Int) -> String {
        var text = "\(v)"
        while text.utf8.count < width { text = "0" + text }
        return text
    }
    return "\(year)-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
        + "\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(ms, 3))Z"
}

/// `N log line(s) dropped`, in the log's own format, for the line that follows a gap.
func droppedNotice(_ count: Int, format: RunOptions.LogFormat, unixNanos: Nanos) -> String {
    let text = "\(count) log line(s) dropped: stderr was not being read"
    switch format {
    case .text:
        return "\(formatTimestamp(unixNanos: unixNanos)) usher: \(text)\n"
    case .json:
        var o = JSONObject()
        o.string("time", formatTimestamp(unixNanos: unixNanos))
        o.string("level", "warn")
        o.string("event", "log_dropped")
        o.number("dropped", Int64(count))
        o.string("message", text)
        return o.text + "}\n"
    }
}
