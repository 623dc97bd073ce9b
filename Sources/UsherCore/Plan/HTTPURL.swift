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

/// `10.0.0.5` for an IPv4 address in network byte order.
func formatIPv4(_ address: UInt32) -> String {
    let b = withUnsafeBytes(of: address) { Array($0) }
    return "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
}
