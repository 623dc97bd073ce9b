/// The text form of a lifecycle log line, after the timestamp: `usher: app[12] started`.
/// Never includes environment values or command arguments (they may hold secrets).
public func logText(_ record: LogRecord) -> String {
    switch record {
    case .started(let name, let pid):
        return "\(name)[\(pid)] started"
    case .startFailed(let name, let failure):
        return "\(name) could not be started: \(failure.reason)"
    case .signalReceived(let sig, let grace):
        return "received \(signalName(sig)), shutting down (deadline in \(formatDuration(grace)))"
    case .stopAlreadyUnderway(let sig):
        return "received \(signalName(sig)) again; the shutdown already under way continues"
    case .stopJoinsShutdown(let sig):
        return "received \(signalName(sig)); the shutdown already under way continues"
    case .preStop(let wait):
        return "preStop: waiting \(formatDuration(wait)) before stopping the main process"
    case .stopping(let name, let pid, let sig):
        return "\(name)[\(pid)] stopping with \(signalName(sig))"
    case .exited(let name, let pid, let status, let ran, let afterSignal, let role, let shuttingDown):
        var text = "\(name)[\(pid)] exited with \(status.description)"
        if let afterSignal {
            text += " \(formatSeconds(afterSignal)) after its stop signal"
        } else {
            text += " after running \(formatSeconds(ran))"
        }
        if role == .sidecar && !shuttingDown { text += "; the main process keeps running" }
        return text
    case .killedAtDeadline(let name, let pid):
        return "\(name)[\(pid)] still running at the deadline: SIGKILL"
    case .exiting(let code):
        return "exiting with status \(code)"
    }
}

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
