/// One HTTP GET, non-blocking, driven by the event loop: connect, send the request, read the
/// response's head (see ResponseHead). For a probe 200-399 passes, as for a Kubernetes httpGet
/// probe, and a redirect to the same host is followed on a new connection (see `Redirect`); for
/// a lifecycle hook any response does (the kubelet ignores a hook's status and fails it only
/// when no response comes).
///
/// A final class, not a struct: a check owns its socket and its partly read response, and its
/// holders (HandlerRunner's slots, RequestProber's requests in flight) take it out of an array
/// or an enum to drive it. A struct's copy driven and not written back would lose what it read,
/// or the socket of a followed redirect; a reference has no such copy. The socket is still closed
/// by its holder (TCP.close(check.fd)), at the point the holder chooses.
final class HTTPCheck {
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
        case reading
    }

    enum Outcome: Equatable {
        case passed(Int)
        case failed(String)
    }

    private(set) var url: HTTPURL
    let asker: Asker
    /// The socket of the request under way: a followed redirect replaces it.
    private(set) var fd: Int32
    let startedAt: Nanos
    private(set) var stage = Stage.connecting
    /// Requests sent so far, the first included: a redirect followed adds one.
    private(set) var requests = 1
    private var headers: [Plan.Header]
    private var request: [UInt8]
    private var head = ResponseHead()

    /// Starts the connect; a failure that the kernel reports at once (no listener on a local
    /// port, say) comes back as `.failure` with its reason.
    static func start(_ url: HTTPURL, headers: [Plan.Header] = [], asker: Asker = .rehearsal,
                      at now: Nanos) -> Result<HTTPCheck, HTTPCheck.Failure> {
        switch TCP.connect(url.address, url.port) {
        case .success(let fd): return .success(HTTPCheck(url: url, headers: headers, asker: asker, fd: fd, startedAt: now))
        case .failure(let e): return .failure(Failure(reason: errorText(e.errno)))
        }
    }

    struct Failure: Error { let reason: String }

    /// Internal rather than private so that tests can run a check over a socket pair.
    init(url: HTTPURL, headers: [Plan.Header], asker: Asker = .rehearsal, fd: Int32, startedAt: Nanos) {
        self.url = url
        self.asker = asker
        self.fd = fd
        self.startedAt = startedAt
        self.headers = headers
        request = HTTPCheck.request(url, headers, asker)
    }

    /// The host name asked: the first URL's, which the kubelet compares every redirect's with
    /// (a redirect followed keeps it).
    private static func hostname(_ url: HTTPURL) -> String {
        url.podAddress ? formatIPv4(url.address) : url.host
    }

    /// Where the probe sets header `name` (lower case; any case in the probe) itself
    /// (`httpHeaders`), if it does. A byte loop: a case-insensitive String compare, inlined here, took 1.5 kB.
    private static func header(_ name: StaticString, in headers: [Plan.Header]) -> Int? {
        for k in headers.indices {
            let given = Array(headers[k].name.utf8)
            guard given.count == name.utf8CodeUnitCount else { continue }
            var i = 0
            while i < given.count && (given[i] >= 65 && given[i] <= 90 ? given[i] + 32 : given[i]) == name.utf8Start[i] { i += 1 }
            if i == given.count { return k }
        }
        return nil
    }

    /// The request as the kubelet sends it: `Host` (the address dialled, with its port unless
    /// it is 80, as Go's client writes it), `User-Agent` and `Accept: */*` unless a header of
    /// the probe sets them (`httpHeaders`), and the probe's other headers.
    private static func request(_ url: HTTPURL, _ headers: [Plan.Header], _ asker: Asker) -> [UInt8] {
        // Bytes appended rather than strings interpolated: the release binary is smaller so.
        var r: [UInt8] = []
        func put(_ s: String) { r += s.utf8 }
        put("GET ")
        put(url.path)
        put(" HTTP/1.1\r\n")
        if header("host", in: headers) == nil {
            put("Host: ")
            put(hostname(url))
            if url.port != 80 {
                put(":")
                put(String(url.port))
            }
            put("\r\n")
        }
        if header("user-agent", in: headers) == nil {
            switch asker {
            case .probe: put("User-Agent: kube-probe/")
            case .hook: put("User-Agent: kube-lifecycle/")
            case .rehearsal: put("User-Agent: usher-rehearse")
            }
            if asker != .rehearsal { put(kubernetesVersion) }
            put("\r\n")
        }
        if header("accept", in: headers) == nil { put("Accept: */*\r\n") }
        for h in headers {
            put(h.name)
            put(": ")
            put(h.value)
            put("\r\n")
        }
        put("Connection: close\r\n\r\n")
        return r
    }

    /// True while it waits for the connect (the socket becoming writable) or to send more.
    var wantsWrite: Bool {
        if case .reading = stage { return false }
        return true
    }

    /// Moves on as far as the socket allows; an outcome when the check is over. After a
    /// redirect it returns nil with a new `fd` (and `requests` one higher), still connecting:
    /// the caller watches that socket in place of the old one, which is closed.
    func progress() -> Outcome? {
        while true {
            switch stage {
            case .connecting:
                let err = TCP.pendingError(fd)
                if err != 0 { return .failed(errorText(err)) }
                stage = .sending(offset: 0)
            case .sending(let offset):
                let n = TCP.send(fd, request[offset...])
                if n < 0 { return TCP.lastFailure().map { .failed($0) } }
                stage = offset + n < request.count ? .sending(offset: offset + n) : .reading
                if offset + n < request.count { return nil }
            case .reading:
                var buffer = [UInt8](repeating: 0, count: 1024)
                let n = TCP.receive(fd, into: &buffer)
                if n < 0 { return TCP.lastFailure().map { .failed($0) } }
                if n == 0 { return .failed("connection closed before a response") }
                switch head.read(buffer[0..<n]) {
                case .more: continue
                case .failed(let reason): return .failed(reason)
                case .response(let status, let location):
                    if asker == .probe, isRedirect(status), let location, !location.isEmpty {
                        return follow(status, location)
                    }
                    let passes = asker == .hook || (status >= 200 && status < 400)
                    return passes ? .passed(status) : .failed("HTTP \(status)")
                }
            }
        }
    }

    /// A probe's redirect: followed on a new connection (nil), or the probe's outcome.
    @inline(never)  // cold
    private func follow(_ status: Int, _ location: [UInt8]) -> Outcome? {
        guard !head.locationCut else { return .failed("the redirect's Location is longer than 8 KiB") }
        switch redirect(to: location, from: url, hostname: HTTPCheck.hostname(url)) {
        case .otherHost: return .passed(status)
        case .unusable(let reason): return .failed(reason)
        case .follow(let next, let keepsHost):
            // RedirectChecker: `len(via) >= 10`, via being the requests already sent.
            guard requests < 10 else { return .failed("stopped after 10 redirects") }
            TCP.close(fd)  // which also takes it out of epoll
            fd = -1
            var headers = headers
            while !keepsHost, let k = HTTPCheck.header("host", in: headers) { headers.remove(at: k) }
            switch TCP.connect(next.address, next.port) {
            case .success(let socket):
                // The check starts again on the new socket, counting the requests before it.
                url = next
                fd = socket
                stage = .connecting
                requests += 1
                self.headers = headers
                request = HTTPCheck.request(next, headers, asker)
                head = ResponseHead()
                return nil
            case .failure(let e): return .failed(errorText(e.errno))
            }
        }
    }
}

/// The Kubernetes release whose kubelet usher follows, as its probes and hooks name it.
let kubernetesVersion = "1.35"

