/// An HTTP response's head read as the kubelet's client reads it: Go's net/http Transport under
/// kubernetes/kubernetes pkg/probe/http/http.go (DoHTTPProbe, RedirectChecker). The verdict
/// waits for the end of the headers (a server that sends a status line and then headers for ever
/// times out, as in Go, where the client's Timeout covers the headers); 1xx informational
/// responses other than 101 are skipped, at most 5 of them (persistConn.readResponse); the head
/// may not pass Go's default 10 MiB (Transport.MaxResponseHeaderBytes). Fed as bytes arrive;
/// what follows the final head (the body) is not read.
struct ResponseHead {
    enum Reading: Equatable {
        case more
        case failed(String)
        /// The final response's status, and its first `Location` header's value, if any (only
        /// its start when `locationCut`).
        case response(Int, location: [UInt8]?)
    }

    static let maxBytes = 10 << 20
    /// What is kept of one line: any real status line, and any Location usher can follow. The
    /// rest of a longer line is counted against `maxBytes` and dropped.
    static let lineLimit = 8192

    private var line: [UInt8] = []
    private var lineCut = false
    private var status: Int?
    private var location: [UInt8]?
    /// The Location kept is only the start of a longer line: not a place to go.
    private(set) var locationCut = false
    private var informational = 0
    private var size = 0

    // read, endOfLine and redirect stay out of line: inlined into HTTPCheck.progress they
    // made the release binary larger.
    @inline(never)
    mutating func read(_ bytes: ArraySlice<UInt8>) -> Reading {
        for b in bytes {
            size += 1
            guard size <= Self.maxBytes else { return .failed("the response's headers are larger than 10 MiB") }
            guard b == 10 else {
                if line.count < Self.lineLimit { line.append(b) } else { lineCut = true }
                continue
            }
            if line.last == 13 && !lineCut { line.removeLast() }  // CR LF, or a bare LF as Go takes it
            let end = endOfLine()
            line.removeAll(keepingCapacity: true)
            lineCut = false
            if let end { return end }
        }
        return .more
    }

    @inline(never)
    private mutating func endOfLine() -> Reading? {
        guard let code = status else {
            guard case .status(let code) = parseStatusLine(line + [10]) else { return .failed("malformed HTTP status line") }
            status = code
            return nil
        }
        if line.isEmpty {  // the end of this response's head
            guard code >= 100 && code < 200 && code != 101 else { return .response(code, location: location) }
            informational += 1
            if informational > 5 { return .failed("too many 1xx informational responses") }
            status = nil
            location = nil
            size = 0  // Go gives each head the whole limit
            return nil
        }
        if line[0] == 32 || line[0] == 9 { return nil }  // a continuation of the line before
        // textproto.ReadMIMEHeader: a header line without a colon fails the response.
        guard let colon = line.firstIndex(of: 58) else { return .failed("malformed HTTP header line") }
        if location == nil && colon == 8 && line[..<colon].map({ $0 | 32 }) == Array("location".utf8) {  // any case
            // Header.Get: the first one, without the blanks around it.
            var from = colon + 1
            var to = line.count
            while from < to && (line[from] == 32 || line[from] == 9) { from += 1 }
            while to > from && (line[to - 1] == 32 || line[to - 1] == 9) { to -= 1 }
            location = Array(line[from..<to])
            locationCut = lineCut
        }
        return nil
    }
}

/// What a probe does with a redirect (301, 302, 303, 307, 308 with a Location), as the kubelet's
/// client does: the Location is resolved against the URL asked (Go's URL.Parse, relative
/// references and dot segments included); a redirect to another host name than the probe's
/// first URL ends the chain with the redirect itself as the response, which the kubelet counts
/// as a success (RedirectChecker returns http.ErrUseLastResponse, DoHTTPProbe then gives
/// probe.Warning, a pass with an event); to the same host name it is followed.
enum Redirect: Equatable {
    /// `keepsHost`: the Location was relative (no scheme), so a Host the probe set is sent again
    /// (Go keeps a custom Host only then).
    case follow(HTTPURL, keepsHost: Bool)
    case otherHost
    case unusable(String)
}

func isRedirect(_ status: Int) -> Bool {
    status == 301 || status == 302 || status == 303 || status == 307 || status == 308
}

/// Where `location` (a Location header's value) leads from `url`, the URL just asked; `hostname`
/// is the probe's first URL's host name, which every followed redirect must keep. Host names
/// are compared as Go compares them, as strings; usher's are IPv4 addresses or `localhost`, so
/// an IPv6 or DNS name is always another host.
@inline(never)
func redirect(to location: [UInt8], from url: HTTPURL, hostname: String) -> Redirect {
    let end = location.firstIndex(of: 35) ?? location.count  // a fragment is never sent
    var i = 0
    // A scheme: what comes before a ':' that comes before any '/' or '?'.
    var scheme: ArraySlice<UInt8>?
    for (k, b) in location[..<end].enumerated() {
        if b == 47 || b == 63 { break }
        if b == 58 {
            scheme = location[..<k]
            i = k + 1
            break
        }
    }
    var authority: [UInt8]?
    if end - i >= 2 && location[i] == 47 && location[i + 1] == 47 {  // "//user@host:port"
        i += 2
        var a: [UInt8] = []
        while i < end && location[i] != 47 && location[i] != 63 {
            a.append(location[i])
            i += 1
        }
        if let at = a.lastIndex(of: 64) { a.removeSubrange(...at) }
        guard (a.lastIndex(of: 58).map { Array(a[..<$0]) } ?? a) == Array(hostname.utf8) else { return .otherHost }
        authority = a
    } else if scheme != nil {
        return .unusable("the redirect's Location has no host")
    }
    if let scheme, scheme.map({ $0 | 32 }) != Array("http".utf8) {  // any case
        return .unusable("a redirect to " + String(decoding: scheme, as: UTF8.self) + ", which usher cannot follow")
    }
    // Path and query: the Location's, its path resolved against the one asked (Go's
    // ResolveReference); a Location of only a fragment asks the same URL again.
    let rest = Array(location[i..<end])
    let q = rest.firstIndex(of: 63) ?? rest.count
    var path = Array(url.path.utf8)
    let baseQuery = path.firstIndex(of: 63) ?? path.count
    if authority != nil || q > 0 {
        path = resolvePath(authority == nil ? Array(path[..<baseQuery]) : [], Array(rest[..<q])) + rest[q...]
    } else if q < rest.count {
        path = resolvePath(Array(path[..<baseQuery]), []) + rest[q...]
    }
    let hostPort = authority.map { String(decoding: $0, as: UTF8.self) } ?? (hostname + ":" + String(url.port))
    guard let next = HTTPURL("http://" + hostPort + String(decoding: path, as: UTF8.self)) else {
        return .unusable("the redirect's Location is not a URL usher can follow")
    }
    return .follow(next, keepsHost: scheme == nil)
}

/// Go's url.resolvePath: `ref` merged onto `base` (after its last '/'), "." and ".." segments
/// removed, a trailing '/' kept; an empty result is "/" (what the request line then asks).
func resolvePath(_ base: [UInt8], _ ref: [UInt8]) -> [UInt8] {
    var full = ref
    if ref.isEmpty {
        full = base
    } else if ref[0] != 47 {
        full = Array(base[..<(base.lastIndex(of: 47).map { $0 + 1 } ?? 0)]) + ref
    }
    var out: [UInt8] = []
    var segment: [UInt8] = []
    var dots = false
    for b in full + [47] {  // each segment ends at a '/'
        guard b == 47 else {
            segment.append(b)
            continue
        }
        dots = segment == [46] || segment == [46, 46]
        if segment == [46, 46], let k = out.lastIndex(of: 47) {
            out.removeSubrange(k...)
        } else if !dots {
            out.append(47)
            out += segment
        }
        segment.removeAll()
    }
    if dots || out.isEmpty { out.append(47) }
    if out.count > 1 && out[1] == 47 { out.removeFirst() }
    return out
}
