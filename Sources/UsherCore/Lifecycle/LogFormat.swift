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
