import CUsher

/// Runs the checks the supervisor asks for (`.runProbe`), inside the one event loop: a
/// non-blocking connect for tcpSocket, a non-blocking GET for httpGet, a child for exec; each
/// given the probe's `timeoutSeconds`. The supervisor decides when to check and what a result
/// means; this only turns sockets, exits and timeouts into `.probeResult` events.
struct ProbeRunner {
    /// Poller tokens: the check in slot k is `tokenBase + k` (apart from the request prober's
    /// `1 << 32` and the output pipes' small numbers).
    static let tokenBase: UInt64 = 1 << 33

    enum Work {
        case exec(pid: Int32)
        case tcp(fd: Int32)
        case http(HTTPCheck)

        /// The socket, for the network checks.
        var fd: Int32? {
            switch self {
            case .tcp(let fd): return fd
            case .http(let check): return check.fd
            case .exec: return nil
            }
        }
    }

    struct Check {
        var process: Int
        var kind: Plan.ProbeKind
        var work: Work
        var deadline: Nanos
        var timeout: Nanos
    }

    private var slots: [Check?] = []
    /// Where an exec probe's output goes: /dev/null, as the kubelet keeps it out of the logs.
    private var devNull: Int32 = -2

    /// The earliest timeout of a check under way.
    var nextWakeup: Nanos? { slots.compactMap { $0?.deadline }.min() }

    /// Starts one check. A check that fails at once (no listener on a local port, a command
    /// that cannot be started) comes back as its result.
    mutating func start(_ i: Int, _ kind: Plan.ProbeKind, of process: Plan.Process, now: Nanos,
                        poller: Poller) -> Event? {
        guard let probe = process.probe(kind) else { return nil }
        let slot = slots.firstIndex { $0 == nil } ?? slots.count
        if slot == slots.count { slots.append(nil) }
        let token = ProbeRunner.tokenBase + UInt64(slot)
        let work: Work
        switch probe.check {
        case .exec(let argv):
            if devNull == -2 { devNull = cusher_open_write("/dev/null") }
            var launch = Launch(process, argv: argv)
            if devNull >= 0 { launch.output = (devNull, devNull) }
            switch spawn(launch) {
            case .success(let pid): work = .exec(pid: pid)
            case .failure(let f): return .probeResult(i, kind, passed: false, detail: f.reason)
            }
        case .tcp(_, let address, let port):
            switch TCP.connect(address, port) {
            case .success(let fd): work = .tcp(fd: fd)
            case .failure(let e): return .probeResult(i, kind, passed: false, detail: errorText(e.errno))
            }
        case .http(let url, let headers):
            switch HTTPCheck.start(url, headers: headers, at: now) {
            case .success(let check): work = .http(check)
            case .failure(let f): return .probeResult(i, kind, passed: false, detail: f.reason)
            }
        }
        if let fd = work.fd {
            do {
                try poller.add(fd, token: token)
                poller.watch(fd, token: token, writable: true)
            } catch {
                TCP.close(fd)
                return .probeResult(i, kind, passed: false, detail: error.message)
            }
        }
        slots[slot] = Check(process: i, kind: kind, work: work, deadline: later(now, by: probe.timeout), timeout: probe.timeout)
        return nil
    }

    /// A probe socket is ready: the connect finished, or the HTTP exchange moved on.
    mutating func ready(token: UInt64, poller: Poller) -> Event? {
        let slot = Int(token - ProbeRunner.tokenBase)
        guard token >= ProbeRunner.tokenBase, slot < slots.count, let check = slots[slot] else { return nil }
        switch check.work {
        case .tcp(let fd):
            let err = TCP.pendingError(fd)
            return finish(slot, passed: err == 0, detail: err == 0 ? "connected" : errorText(err), killing: false)
        case .http(var http):
            switch http.progress() {
            case .passed(let status)?: return finish(slot, passed: true, detail: "HTTP \(status)", killing: false)
            case .failed(let reason)?: return finish(slot, passed: false, detail: reason, killing: false)
            case nil:
                slots[slot]?.work = .http(http)
                poller.watch(http.fd, token: token, writable: http.wantsWrite)
                return nil
            }
        case .exec:
            return nil
        }
    }

    /// An exec check's command was reaped; nil when `pid` is not one.
    mutating func reaped(_ pid: Int32, _ status: ExitStatus) -> Event? {
        guard let slot = slots.firstIndex(where: { if case .exec(pid)? = $0?.work { return true } else { return false } })
        else { return nil }
        return finish(slot, passed: status == .exited(0), detail: "the command exited with \(status.description)",
                      killing: false)
    }

    /// The checks whose time is up fail (an exec check's command is killed).
    mutating func expire(now: Nanos) -> [Event] {
        var out: [Event] = []
        for slot in slots.indices {
            guard let check = slots[slot], now >= check.deadline else { continue }
            if let e = finish(slot, passed: false, detail: "timed out after \(formatDuration(check.timeout))", killing: true) {
                out.append(e)
            }
        }
        return out
    }

    /// Abandons the checks of process `i` (no result is reported).
    mutating func cancel(_ i: Int) {
        for slot in slots.indices where slots[slot]?.process == i { _ = finish(slot, passed: false, detail: "", killing: true) }
    }

    /// Ends the check in `slot`, releasing its socket, and returns its result. `killing`: its
    /// command has not been reaped and is killed with its group (unreaped, its pid and group
    /// cannot have been reused; once reaped it is never signalled).
    private mutating func finish(_ slot: Int, passed: Bool, detail: String, killing: Bool) -> Event? {
        guard let check = slots[slot] else { return nil }
        slots[slot] = nil
        switch check.work {
        case .tcp(let fd): TCP.close(fd)  // closing also takes it out of epoll
        case .http(let http): TCP.close(http.fd)
        case .exec(let pid):
            if killing { signalGroup(pid, sigkill) }
        }
        return .probeResult(check.process, check.kind, passed: passed, detail: detail)
    }
}
