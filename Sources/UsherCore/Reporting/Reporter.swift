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
    /// The status file's directory and name, when there is one.
    private var statusPlace: (dir: String, name: String)?
    private var notifyFD: Int32 = -1
    /// What the status file says now (empty once removed): compared with what it should say, so
    /// that an unchanged state writes nothing and a failed write is tried again. Bytes, kept
    /// from write to write (their capacity stays).
    private var written: [UInt8] = []
    private var wanted: [UInt8] = []
    /// A log record went by since the status file was last brought up to date: it is rebuilt
    /// once the wake-up is done (`wakeupHandled`), not after each of its events.
    private var statusStale = false
    /// usher's own pid, for the status file (it does not change).
    private let pid = ownProcessID()
    /// A failed status write is tried again at this time (a second later): a full /run that
    /// frees up must not leave the file saying what was true before it filled. Set exactly
    /// while the last write failed.
    private var retryAt: Nanos?
    /// Log lines for the driver, handed over at the next tick (`nextWakeup` is then now).
    private var notes: [Event] = []
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
            // root filesystem, a directory another user owns) means no status file, said once
            // on stderr when it was asked for.
            let place = (dir: directoryOf(path), name: lastComponent(path))
            var text: [UInt8] = []
            appendStatusHead(to: &text, pid: pid, up: false)
            if let problem = replaceOwnFile(place.dir, place.name, with: text) {
                if options.statusFileNamed {
                    writeAll(2, "usher: the status file \(OSString.printable(path)) cannot be written (\(problem.reason)); running without one\n")
                }
            } else {
                statusPlace = place
                written = text
                wanted = text
            }
        }
        if let socket = options.notifySocket, !socket.isEmpty {
            notifyFD = openNotifySocket()
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

    /// sd_notify's READY and STOPPING go out at the event that makes them true; the status
    /// file is only marked stale (see `wakeupHandled`).
    func settled(_ supervisor: Supervisor, at now: Nanos) {
        guard dirty else { return }
        dirty = false
        if statusPlace != nil { statusStale = true }
        if notifyFD >= 0 {
            if !sentReady && supervisor.isUp {
                sentReady = true
                notify("READY=1\nSTATUS=every main container is ready and every sidecar started\n")
            }
            if supervisor.isShuttingDown && !sentStopping {
                sentStopping = true
                notify("STOPPING=1\nSTATUS=stopping\n")
            }
        }
    }

    /// The status file, rewritten when what it should say changed: once a wake-up, with the
    /// state at its end (a shutdown step reaps one process and signals the next, and several
    /// steps often fall in one wake-up).
    func wakeupHandled(_ supervisor: Supervisor) {
        guard statusStale else { return }
        statusStale = false
        wanted.removeAll(keepingCapacity: true)
        appendStatusHead(to: &wanted, pid: pid, up: supervisor.isUp)
        for i in supervisor.containers.indices { appendStatusLine(to: &wanted, supervisor.status(i)) }
        if wanted != written { writeStatus(at: monotonicNow()) }
    }

    private func notify(_ message: String) {
        guard let socket = options.notifySocket else { return }
        sendNotify(notifyFD, to: socket, message)
    }

    /// Writes what the status file should say; on failure removes it (a file that says "ready"
    /// for an app that no longer is would be worse than none: `usher status` then answers not
    /// ready) and tries again a second later, logging the first failure and the recovery.
    private func writeStatus(at now: Nanos) {
        guard let place = statusPlace else { return }
        let problem = replaceOwnFile(place.dir, place.name, with: wanted)
        // A change between failing and writing is logged: the first failure, the recovery.
        if (problem == nil) == (retryAt != nil) {
            notes.append(.statusFileWrite(path: OSString.printable(place.dir + "/" + place.name), problem: problem?.reason))
        }
        if problem == nil {
            swap(&written, &wanted)  // no copy: `wanted` is rebuilt from empty before its next use
            retryAt = nil
            return
        }
        if !written.isEmpty {
            removeOwnFile(place.dir, place.name)
            written.removeAll(keepingCapacity: true)
        }
        retryAt = later(now, by: nanosPerSecond)
    }

    var nextWakeup: Nanos? { notes.isEmpty ? retryAt : 0 }

    func tick(at now: Nanos, poller: Poller) -> [Event] {
        if let at = retryAt, at <= now { writeStatus(at: now) }
        defer { notes.removeAll() }
        return notes
    }
    func ready(token: UInt64, at now: Nanos, poller: Poller) {}
    func keepsLoopRunning(at now: Nanos) -> Bool { false }

    /// usher is exiting with `status`: the termination message, one line, never an env value
    /// (names and statuses only), at most `terminationMessageLimit` bytes with the verdict last:
    /// the kubelet keeps a message's last 4096 bytes, so lists too long for it are shortened.
    func finish(status: Int32) {
        guard let path = options.terminationLog else { return }
        _ = overwriteFile(path, with: terminationMessage(status: status) + "\n", create: options.terminationLogNamed)
    }

    func terminationMessage(status: Int32) -> String {
        var verdict: [String] = []
        if let failure = startupFailure { verdict.append(OSString.printable(failure)) }
        if let end = firstMainEnd { verdict.append(OSString.printable(end)) }
        verdict.append("usher exited with status \(status)")
        let tail = verdict.joined(separator: "; ")
        var room = terminationMessageLimit - 1 - tail.utf8.count  // the newline
        var parts: [String] = []
        for (title, names) in [("killed by the OOM killer: ", oomKilled), ("killed at the deadline: ", killed)] where !names.isEmpty {
            let part = listWithin(title, names.map { OSString.printable($0) }, room: room - 2)  // "; "
            room -= part.utf8.count + 2
            parts.append(part)
        }
        parts.append(tail)
        return parts.joined(separator: "; ")
    }
}

/// The kubelet reads at most this much of a termination message, its last bytes
/// (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `getTerminationMessage`:
/// `tail.ReadAtMost` with `kubecontainer.MaxContainerTerminationMessageLength`, 4096).
let terminationMessageLimit = 4096

/// `title` and as many of `names` as fit in `room` bytes, then "and N more".
private func listWithin(_ title: String, _ names: [String], room: Int) -> String {
    var text = title
    for (n, name) in names.enumerated() {
        let more = names.count - n
        let reserve = n + 1 < names.count ? " and \(more - 1) more".utf8.count : 0
        let piece = (n > 0 ? ", " : "") + name
        guard text.utf8.count + piece.utf8.count + reserve <= room else {
            return text + (n > 0 ? " and " : "") + "\(more) more"
        }
        text += piece
    }
    return text
}
