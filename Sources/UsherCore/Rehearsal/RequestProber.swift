/// `usher rehearse --probe URL`: keeps requests going to each URL throughout a rehearsal, one at
/// a time per URL, a new one every `interval`, each given `timeout` to answer, and records every
/// outcome with its times. The rehearsal then counts the ones that failed between the stop
/// signal and the main process's exit: the requests a rolling update would drop.
struct RequestProber {
    struct Record: Equatable {
        var url: Int
        var startedAt: Nanos
        var endedAt: Nanos
        var passed: Bool
        var detail: String
    }

    let urls: [HTTPURL]
    let interval: Nanos
    let timeout: Nanos
    private(set) var records: [Record] = []
    private var inFlight: [HTTPCheck?]
    private var nextStart: [Nanos]
    /// No new request starts after this instant (set once the stop signal is sent).
    private var sendUntil: Nanos?
    /// `sendUntil` has passed (a tick at or after it has run).
    private var windowClosed = false

    /// The load balancer stops sending at `instant`; requests under way then still count.
    mutating func stopSending(at instant: Nanos) {
        sendUntil = instant
    }

    /// After the stop signal: requests are still due or under way. A pod whose processes are
    /// all gone while traffic still comes is the drop this check exists to show.
    func stillSending(at now: Nanos) -> Bool {
        guard sendUntil != nil else { return false }
        return !windowClosed || inFlight.contains { $0 != nil }
    }

    init(urls: [HTTPURL], startAt: Nanos, interval: Nanos = 50_000_000, timeout: Nanos = nanosPerSecond) {
        self.urls = urls
        self.interval = interval
        self.timeout = timeout
        inFlight = Array(repeating: nil, count: urls.count)
        nextStart = Array(repeating: startAt, count: urls.count)
    }

    var nextWakeup: Nanos? {
        var next: Nanos?
        for i in urls.indices {
            if let check = inFlight[i] {
                let due = later(check.startedAt, by: timeout)
                next = min(next ?? due, due)
            } else if sendUntil.map({ nextStart[i] <= $0 }) ?? true {
                next = min(next ?? nextStart[i], nextStart[i])
            }
        }
        // Wake once at the end of the window, to close it even when no request is due.
        if let sendUntil, !windowClosed { next = min(next ?? sendUntil, sendUntil) }
        return next
    }

    /// Starts the requests that are due and fails the ones that ran out of time.
    mutating func tick(now: Nanos, poller: Poller) {
        if let sendUntil, now >= sendUntil { windowClosed = true }
        for i in urls.indices {
            if let check = inFlight[i], now >= later(check.startedAt, by: timeout) {
                finish(i, .failed("no answer within \(formatDuration(timeout))"), now: now)
            }
            if inFlight[i] == nil && now >= nextStart[i] && !windowClosed {
                nextStart[i] = later(now, by: interval)
                switch HTTPCheck.start(urls[i], at: now) {
                case .success(let check):
                    inFlight[i] = check
                    do {
                        try poller.add(check.fd, token: PollerToken.companion + UInt64(i))
                        poller.watch(check.fd, token: PollerToken.companion + UInt64(i), writable: true)
                    } catch {
                        finish(i, .failed(error.message), now: now)
                    }
                case .failure(let f):
                    records.append(Record(url: i, startedAt: now, endedAt: now, passed: false, detail: f.reason))
                }
            }
        }
    }

    /// The socket of URL `token - PollerToken.companion` is ready (URL i's request is that base + i).
    mutating func ready(token: UInt64, now: Nanos, poller: Poller) {
        let i = Int(token - PollerToken.companion)
        guard token >= PollerToken.companion, i < urls.count, let check = inFlight[i] else { return }
        if let outcome = check.progress() {
            finish(i, outcome, now: now)
        } else {
            poller.watch(check.fd, token: token, writable: check.wantsWrite)
        }
    }

    /// Ends every request still under way (the rehearsal is over); they are not counted.
    mutating func stop() {
        for i in urls.indices {
            if let check = inFlight[i] { TCP.close(check.fd) }
            inFlight[i] = nil
        }
    }

    @inline(never)  // size: shared
    private mutating func finish(_ i: Int, _ outcome: HTTPCheck.Outcome, now: Nanos) {
        guard let check = inFlight[i] else { return }
        TCP.close(check.fd)  // closing also takes it out of epoll
        inFlight[i] = nil
        switch outcome {
        case .passed(let status):
            records.append(Record(url: i, startedAt: check.startedAt, endedAt: now, passed: true, detail: "HTTP \(status)"))
        case .failed(let reason):
            records.append(Record(url: i, startedAt: check.startedAt, endedAt: now, passed: false, detail: reason))
        }
    }
}
