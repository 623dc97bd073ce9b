/// A plain-HTTP URL as probes use it: `http://127.0.0.1:8080/healthz`. The host must be an IPv4
/// address or `localhost`: the static binary carries no DNS resolver (glibc's would need NSS
/// modules at run time), and a probe of the app in the same container needs none.
public struct HTTPURL: Equatable {
    public var host: String
    /// The IPv4 address in network byte order, as sockaddr_in wants it.
    public var address: UInt32
    public var port: UInt16
    public var path: String
    /// A probe's or hook's `host` was left out: the kubelet then connects to the pod's IP, so
    /// usher connects to its container's own address (see `podAddress()`), and `address` is
    /// only what it falls back to.
    public var podAddress = false

    public init?(_ text: String) {
        var rest = Array(text.utf8)
        let scheme = Array("http://".utf8)
        guard rest.starts(with: scheme) else { return nil }
        rest.removeFirst(scheme.count)
        let slash = rest.firstIndex(of: 47) ?? rest.count
        let authority = rest[..<slash]
        // The path goes into the request line as it is: a blank or a control byte would break it.
        guard rest[slash...].allSatisfy({ $0 > 32 && $0 != 127 }) else { return nil }
        path = slash < rest.count ? String(decoding: rest[slash...], as: UTF8.self) : "/"
        let colon = authority.lastIndex(of: 58)
        let hostBytes = colon.map { authority[..<$0] } ?? authority
        host = String(decoding: hostBytes, as: UTF8.self)
        if let colon {
            guard let n = plainDecimal(authority[(colon + 1)...], maxDigits: 5), n >= 1 && n <= 65535 else { return nil }
            port = UInt16(n)
        } else {
            port = 80
        }
        if same(host, "localhost") {
            address = ipv4(127, 0, 0, 1)
        } else if let a = parseIPv4(hostBytes) {
            address = a
        } else {
            return nil
        }
    }
}

private func ipv4(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 {
    // Network byte order in memory: a is the first byte.
    (a | b << 8 | c << 16 | d << 24)
}

private func parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    let parts = splitBytes(bytes, 46, omittingEmpty: false)
    guard parts.count == 4 else { return nil }
    var octets: [UInt32] = []
    for p in parts {
        guard let n = plainDecimal(p, maxDigits: 3), n <= 255 else { return nil }
        octets.append(UInt32(n))
    }
    return ipv4(octets[0], octets[1], octets[2], octets[3])
}

/// What the start of an HTTP response says, read as Go's net/http (and so the kubelet) reads it:
/// `HTTP/X.Y`, blanks, a status code of exactly three digits, then a blank or the end of the
/// line (`HTTP/1.1 2000 OK` is malformed, not 200). One parser for the httpGet probes and the
/// requests of `rehearse --probe`, which both go through HTTPCheck.
public enum StatusLine: Equatable {
    /// The first line has not fully arrived.
    case incomplete
    case malformed
    case status(Int)
}

public func parseStatusLine(_ head: [UInt8]) -> StatusLine {
    guard var end = head.firstIndex(of: 10) else { return .incomplete }
    if end > 0 && head[end - 1] == 13 { end -= 1 }  // CR LF, or a bare LF as Go takes it too
    // Byte by byte by index: the release binary is smaller so than with slices.
    func isDigit(_ i: Int) -> Bool { i < end && head[i] >= 48 && head[i] <= 57 }
    // The version: HTTP/X.Y with one digit each (Go's ParseHTTPVersion), then a blank.
    guard end > 8, head[0] == 72, head[1] == 84, head[2] == 84, head[3] == 80, head[4] == 47, isDigit(5), head[6] == 46,
          isDigit(7), head[8] == 32
    else { return .malformed }
    var i = 9
    while i < end && head[i] == 32 { i += 1 }
    var codeEnd = i
    while codeEnd < end && head[codeEnd] != 32 { codeEnd += 1 }  // the code: up to the next blank
    guard codeEnd - i == 3, let code = plainDecimal(head[i..<codeEnd], maxDigits: 3) else { return .malformed }
    return .status(code)
}
