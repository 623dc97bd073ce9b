import CUsher

/// One HTTP GET, non-blocking, driven by the event loop: connect, send the request, read until
/// the status line. 200-399 passes, as for a Kubernetes httpGet probe.
struct HTTPCheck {
    enum Stage {
        case connecting
        case sending(offset: Int)
        case reading(head: [UInt8])
    }

    enum Outcome: Equatable {
        case passed(Int)
        case failed(String)
    }

    let url: HTTPURL
    let fd: Int32
    let startedAt: Nanos
    private(set) var stage = Stage.connecting
    private let request: [UInt8]

    /// Starts the connect; a failure that the kernel reports at once (no listener on a local
    /// port, say) comes back as `.failure` with its reason.
    static func start(_ url: HTTPURL, headers: [Plan.Header] = [], at now: Nanos) -> Result<HTTPCheck, HTTPCheck.Failure> {
        switch TCP.connect(url) {
        case .success(let fd): return .success(HTTPCheck(url: url, headers: headers, fd: fd, startedAt: now))
        case .failure(let e): return .failure(Failure(reason: errorText(e.errno)))
        }
    }

    struct Failure: Error { let reason: String }

    /// The request as the kubelet sends it: `Host` and `User-Agent` unless a header of the probe
    /// sets them (`httpHeaders`), and the probe's other headers.
    /// Internal rather than private so that tests can run a check over a socket pair.
    init(url: HTTPURL, headers: [Plan.Header], fd: Int32, startedAt: Nanos) {
        self.url = url
        self.fd = fd
        self.startedAt = startedAt
        func given(_ name: String) -> Bool { headers.contains { sameIgnoringCase($0.name, name) } }
        var text = "GET \(url.path) HTTP/1.1\r\n"
        if !given("host") { text += "Host: \(url.host)\r\n" }
        if !given("user-agent") { text += "User-Agent: usher\r\n" }
        for h in headers { text += "\(h.name): \(h.value)\r\n" }
        text += "Connection: close\r\n\r\n"
        request = Array(text.utf8)
    }

    /// True while it waits for the connect (the socket becoming writable) or to send more.
    var wantsWrite: Bool {
        if case .reading = stage { return false }
        return true
    }

    /// Moves on as far as the socket allows; an outcome when the check is over.
    mutating func progress() -> Outcome? {
        while true {
            switch stage {
            case .connecting:
                let err = TCP.pendingError(fd)
                if err != 0 { return .failed(errorText(err)) }
                stage = .sending(offset: 0)
            case .sending(let offset):
                let n = TCP.send(fd, request[offset...])
                if n < 0 { return cusher_errno() == EAGAIN ? nil : .failed(errorText(cusher_errno())) }
                stage = offset + n < request.count ? .sending(offset: offset + n) : .reading(head: [])
                if offset + n < request.count { return nil }
            case .reading(var head):
                var buffer = [UInt8](repeating: 0, count: 1024)
                let n = TCP.receive(fd, into: &buffer)
                if n < 0 { return cusher_errno() == EAGAIN ? nil : .failed(errorText(cusher_errno())) }
                if n == 0 { return .failed("connection closed before a response") }
                head += buffer[0..<n]
                switch parseStatusLine(head) {
                case .status(let status):
                    return status >= 200 && status < 400 ? .passed(status) : .failed("HTTP \(status)")
                case .malformed:
                    return .failed("malformed HTTP status line")
                case .incomplete:
                    if head.count > 8192 { return .failed("no HTTP status line") }
                }
                stage = .reading(head: head)
            }
        }
    }
}
