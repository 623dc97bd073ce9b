import CUsher

/// One HTTP GET, non-blocking, driven by the event loop: connect, send the request, read until
/// the status line. For a probe 200-399 passes, as for a Kubernetes httpGet probe; for a
/// lifecycle hook any response does (the kubelet ignores a hook's status and fails it only when
/// no response comes).
struct HTTPCheck {
    /// Who asks: the kubelet says `kube-probe/1.35` for a probe and `kube-lifecycle/1.35` for a
    /// hook (the Kubernetes release whose behaviour usher follows; README, "Kubelet parity").
    enum Asker: Equatable {
        case probe
        case hook
        /// `usher rehearse --probe`, a load balancer's request.
        case rehearsal
    }
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
    let asker: Asker
    let fd: Int32
    let startedAt: Nanos
    private(set) var stage = Stage.connecting
    private let request: [UInt8]

    /// Starts the connect; a failure that the kernel reports at once (no listener on a local
    /// port, say) comes back as `.failure` with its reason.
    static func start(_ url: HTTPURL, headers: [Plan.Header] = [], asker: Asker = .rehearsal,
                      at now: Nanos) -> Result<HTTPCheck, HTTPCheck.Failure> {
        switch TCP.connect(url) {
        case .success(let fd): return .success(HTTPCheck(url: url, headers: headers, asker: asker, fd: fd, startedAt: now))
        case .failure(let e): return .failure(Failure(reason: errorText(e.errno)))
        }
    }

    struct Failure: Error { let reason: String }

    /// The request as the kubelet sends it: `Host` (the address dialled, with its port unless
    /// it is 80, as Go's client writes it), `User-Agent` and `Accept: */*` unless a header of
    /// the probe sets them (`httpHeaders`), and the probe's other headers.
    /// Internal rather than private so that tests can run a check over a socket pair.
    init(url: HTTPURL, headers: [Plan.Header], asker: Asker = .rehearsal, fd: Int32, startedAt: Nanos) {
        self.url = url
        self.asker = asker
        self.fd = fd
        self.startedAt = startedAt
        func given(_ name: String) -> Bool { headers.contains { sameIgnoringCase($0.name, name) } }
        var text = "GET \(url.path) HTTP/1.1\r\n"
        let host = url.podAddress ? formatIPv4(url.address) : url.host
        if !given("host") { text += "Host: \(host)" + (url.port == 80 ? "" : ":\(url.port)") + "\r\n" }
        if !given("user-agent") {
            switch asker {
            case .probe: text += "User-Agent: kube-probe/\(kubernetesVersion)\r\n"
            case .hook: text += "User-Agent: kube-lifecycle/\(kubernetesVersion)\r\n"
            case .rehearsal: text += "User-Agent: usher-rehearse\r\n"
            }
        }
        if !given("accept") { text += "Accept: */*\r\n" }
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
                    let passes = asker == .hook || (status >= 200 && status < 400)
                    return passes ? .passed(status) : .failed("HTTP \(status)")
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

/// The Kubernetes release whose kubelet usher follows, as its probes and hooks name it.
let kubernetesVersion = "1.35"

/// `10.0.0.5` for an IPv4 address in network byte order.
func formatIPv4(_ address: UInt32) -> String {
    let b = withUnsafeBytes(of: address) { Array($0) }
    return "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
}
