import CUsher

/// What a normal run tells the world beyond its log, on top of the PID-1 loop (a `Companion`):
/// the status file that `usher status` reads, sd_notify's datagrams when usher runs under
/// `NOTIFY_SOCKET` (podman `--sdnotify=container`, systemd), and the termination message that
/// Kubernetes shows in `kubectl describe pod`. It only observes; every write it makes is small
/// and to a local file or a datagram socket that does not block (a full socket drops the
/// message: sd_notify is a hint, the deadline is not).
final class Reporter: Companion {
    struct Options {
        /// The status file, and whether the user named it (then a failure to write it is logged).
        var statusFile: String?
        var statusFileNamed = false
        var notifySocket: String?
        /// The termination message's file, and whether the user named it (then it is created).
        var terminationLog: String?
        var terminationLogNamed = false
    }

    let options: Options
    private var statusPath: String?
    private var notifyFD: Int32 = -1
    private var lastStatus = ""
    private var sentReady = false
    private var sentStopping = false
    /// A log record went by since the last look: the state others see may have changed.
    private var dirty = true
    /// What the termination message will say, gathered from the log records.
    private var firstMainEnd: String?
    private var killed: [String] = []
    private var startupFailure: String?
    private var oomKilled: [String] = []
    /// Who an OOM kill in the container that no process is credited with names.
    private static var unnamedOOMVictim: String { "a process of the container" }

    init(_ options: Options) {
        self.options = options
        if let path = options.statusFile, options.statusFileNamed || prepareDefaultStatusDirectory() {
            // Written once now, before anything runs: a place that takes no file (a read-only
            // root filesystem) means no status file, said once on stderr when it was asked for.
            if replaceFile(path, with: statusFileText(pid: getpid(), up: false, [])) {
                statusPath = path
            } else if options.statusFileNamed {
                writeAll(2, "usher: the status file \(OSString.printable(path)) cannot be written (\(errorText(cusher_errno()))); running without one\n")
            }
        }
        if let socket = options.notifySocket, !socket.isEmpty {
            notifyFD = cusher_notify_socket()
        }
    }

    /// /run/usher, when it can be made: the default status file is written only where that
    /// works (a read-only root filesystem has none, and usher then keeps no status file).
    private func prepareDefaultStatusDirectory() -> Bool {
        makeDirectory("/run/usher")
    }

    func observe(_ event: Event, at now: Nanos) {}
    /// It reports lifecycle logs only, and a forwarded signal logs nothing; it never asks for a tick.
    var seesForwardedSignals: Bool { false }

    func observe(_ action: Action, at now: Nanos) {
        guard case .log(let record) = action else { return }
        dirty = true
        switch record {
        case .exited(let name, _, let status, _, _, .main, _) where firstMainEnd == nil:
            firstMainEnd = "\(name) exited with \(status.description)"
        case .killedAtDeadline(let name, _), .killedOnRequest(let name, _):
            if !killed.contains(where: { same($0, name) }) { killed.append(name) }
        case .startupFailed(let reason) where startupFailure == nil:
            startupFailure = reason
        case .startFailed(let name, _) where startupFailure == nil:
            startupFailure = "\(name) could not be started"
        case .oomKilled(let name, _, _):
            oomKilled.append(name)
        case .oomKillInContainer where !oomKilled.contains(where: { same($0, Reporter.unnamedOOMVictim) }):
            oomKilled.append(Reporter.unnamedOOMVictim)
        default:
            break
        }
    }

    func settled(_ supervisor: Supervisor, at now: Nanos) {
        guard dirty else { return }
        dirty = false
        let up = supervisor.isUp
        if let path = statusPath {
            let text = statusFileText(pid: getpid(), up: up, supervisor.statuses())
            if !same(text, lastStatus) {
                lastStatus = text
                _ = replaceFile(path, with: text)  // a full disk later loses an update, not the loop
            }
        }
        if notifyFD >= 0 {
            if up && !sentReady {
                sentReady = true
                notify("READY=1\nSTATUS=every main container is ready and every sidecar started\n")
            }
            if supervisor.isShuttingDown && !sentStopping {
                sentStopping = true
                notify("STOPPING=1\nSTATUS=stopping\n")
            }
        }
    }

    private func notify(_ message: String) {
        guard let socket = options.notifySocket else { return }
        var text = message
        let path = OSString.cString(socket)
        defer { path.deallocate() }
        _ = text.withUTF8 { buf in cusher_notify_send(notifyFD, path, buf.baseAddress, UInt(buf.count)) }
    }

    var nextWakeup: Nanos? { nil }
    func tick(at now: Nanos, poller: Poller) -> [Event] { [] }
    func ready(token: UInt64, at now: Nanos, poller: Poller) {}
    func keepsLoopRunning(at now: Nanos) -> Bool { false }

    /// usher is exiting with `status`: the termination message, one line, never an env value
    /// (names and statuses only).
    func finish(status: Int32) {
        guard let path = options.terminationLog else { return }
        var parts: [String] = []
        if let failure = startupFailure { parts.append(failure) }
        if let end = firstMainEnd { parts.append(end) }
        if !oomKilled.isEmpty { parts.append("killed by the OOM killer: " + oomKilled.joined(separator: ", ")) }
        if !killed.isEmpty { parts.append("killed at the deadline: " + killed.joined(separator: ", ")) }
        parts.append("usher exited with status \(status)")
        _ = writeFile(path, OSString.printable(parts.joined(separator: "; ")) + "\n", create: options.terminationLogNamed)
    }
}
