/// Runs the handlers the supervisor asks for (`.runHandler`), for every probe and every hook,
/// inside the one event loop: a non-blocking connect for tcpSocket, a non-blocking GET for
/// httpGet, a child for exec; each given its timeout. The supervisor decides when to run what
/// and what a result means (and waits out sleeps itself); this only turns sockets, exits and
/// timeouts into `.handlerDone` events. One mechanism for all of them: a probe's exec check and a
/// preStop's command are started, tracked and killed the same way.
struct HandlerRunner {
    enum Work {
        case exec(pid: Int32)
        case tcp(fd: Int32)
        case http(HTTPCheck)

        /// The socket, for the network handlers.
        var fd: Int32? {
            switch self {
            case .tcp(let fd): return fd
            case .http(let check): return check.fd
            case .exec: return nil
            }
        }
    }

    struct Run {
        var process: Int
        var use: Plan.HandlerUse
        var work: Work
        var deadline: Nanos
        var timeout: Nanos
    }

    private var slots: [Run?] = []
    /// The container's own address, where a handler without a `host` connects (the kubelet
    /// uses the pod's IP); looked up once.
    private var podAddress: UInt32?

    /// The earliest timeout of a run under way.
    var nextWakeup: Nanos? {
        var next: Nanos?
        for case let run? in slots { next = min(next ?? run.deadline, run.deadline) }
        return next
    }

    /// Starts one run of `handler`; `launch` is how to start its command (an exec handler's).
    /// A run that fails at once (no listener on a local port, a command that cannot be started)
    /// comes back as its result; a hook's command that started comes back as `.handlerStarted`.
    mutating func start(_ i: Int, _ use: Plan.HandlerUse, _ handler: Plan.Handler, launch: Launch?,
                        timeout: Nanos, now: Nanos, poller: Poller) -> Event? {
        let slot = slots.firstIndex { $0 == nil } ?? slots.count
        if slot == slots.count { slots.append(nil) }
        let token = PollerToken.handlers + UInt64(slot)
        func failed(_ detail: String) -> Event { .handlerDone(i, use, HandlerResult(passed: false, detail: detail)) }
        let work: Work
        var started: Event?
        switch handler {
        case .exec:
            guard let launch else { return failed("no command") }
            switch spawn(launch) {
            case .success(let pid):
                work = .exec(pid: pid)
                if case .hook = use { started = .handlerStarted(i, use, pid: pid) }
            case .failure(let f): return failed(f.reason)
            }
        case .tcp(let url):
            switch TCP.connect(resolved(url).address, resolved(url).port) {
            case .success(let fd): work = .tcp(fd: fd)
            case .failure(let e): return failed(errorText(e.errno))
            }
        case .http(let url, let headers):
            let asker: HTTPCheck.Asker
            if case .hook = use { asker = .hook } else { asker = .probe }
            switch HTTPCheck.start(resolved(url), headers: headers, asker: asker, at: now) {
            case .success(let check): work = .http(check)
            case .failure(let f): return failed(f.reason)
            }
        case .sleep:
            return nil  // the supervisor waits out sleeps itself
        }
        if let fd = work.fd {
            do {
                try poller.add(fd, token: token, interest: .writable)
            } catch {
                TCP.close(fd)
                return failed(error.message)
            }
        }
        slots[slot] = Run(process: i, use: use, work: work, deadline: later(now, by: timeout), timeout: timeout)
        return started
    }

    /// A handler's socket is ready: the connect finished, or the HTTP exchange moved on.
    mutating func ready(token: UInt64, poller: Poller) -> Event? {
        guard token >= PollerToken.handlers else { return nil }
        let slot = Int(token - PollerToken.handlers)
        guard slot < slots.count, let run = slots[slot] else { return nil }
        switch run.work {
        case .tcp(let fd):
            let err = TCP.pendingError(fd)
            return finish(slot, HandlerResult(passed: err == 0, detail: err == 0 ? "connected" : errorText(err)), killing: false)
        case .http(let http):
            let requests = http.requests
            let outcome = http.progress()
            switch outcome {
            case .passed(let status)?: return finish(slot, HandlerResult(passed: true, detail: "HTTP \(status)"), killing: false)
            case .failed(let reason)?: return finish(slot, HandlerResult(passed: false, detail: reason), killing: false)
            case nil where http.requests != requests:
                // The redirect's connection, watched under the same token until the same deadline.
                do {
                    try poller.add(http.fd, token: token, interest: .writable)
                } catch {
                    return finish(slot, HandlerResult(passed: false, detail: error.message), killing: false)
                }
                return nil
            case nil:
                poller.watch(http.fd, token: token, interest: http.wantsWrite ? .writable : .readable)
                return nil
            }
        case .exec:
            return nil
        }
    }

    /// A handler's command was reaped; nil when `pid` is not one.
    mutating func reaped(_ pid: Int32, _ status: ExitStatus) -> Event? {
        guard let slot = slots.firstIndex(where: { if case .exec(pid)? = $0?.work { return true } else { return false } })
        else { return nil }
        let detail: String
        if case .probe = slots[slot]?.use { detail = "the command exited with \(status.description)" } else { detail = "exited with \(status.description)" }
        return finish(slot, HandlerResult(passed: status == .exited(0), detail: detail, status: status), killing: false)
    }

    /// The runs whose time is up fail (a command is killed).
    mutating func expire(now: Nanos) -> [Event] {
        var out: [Event] = []
        for slot in slots.indices {
            guard let run = slots[slot], now >= run.deadline else { continue }
            let result = HandlerResult(passed: false, detail: "timed out after \(formatDuration(run.timeout))")
            if let e = finish(slot, result, killing: true) { out.append(e) }
        }
        return out
    }

    /// Abandons the run of `use` of process `i` (no result is reported).
    mutating func cancel(_ i: Int, _ use: Plan.HandlerUse) {
        for slot in slots.indices where slots[slot]?.process == i && slots[slot]?.use == use {
            _ = finish(slot, HandlerResult(passed: false, detail: ""), killing: true)
        }
    }

    /// Ends the run in `slot`, releasing its socket, and returns its result. `killing`: its
    /// command has not been reaped and is killed with its group (unreaped, its pid and group
    /// cannot have been reused; once reaped it is never signalled).
    private mutating func finish(_ slot: Int, _ result: HandlerResult, killing: Bool) -> Event? {
        guard let run = slots[slot] else { return nil }
        slots[slot] = nil
        switch run.work {
        case .tcp(let fd): TCP.close(fd)  // closing also takes it out of epoll
        case .http(let http): TCP.close(http.fd)
        case .exec(let pid):
            if killing { signalTracked(pid, sigkill) }
        }
        return .handlerDone(run.process, run.use, result)
    }

    /// `url` with the container's own address when its host was left out.
    private mutating func resolved(_ url: HTTPURL) -> HTTPURL {
        guard url.podAddress else { return url }
        if podAddress == nil { podAddress = ownAddress() ?? url.address }
        var url = url
        url.address = podAddress ?? url.address
        return url
    }
}
