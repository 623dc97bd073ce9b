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
    /// The status code of the head being read, -1 until its status line has come.
    private var status = -1
    private var location: [UInt8]?
    /// The Location kept is only the start of a longer line: not a place to go.
    private(set) var locationCut = false
    private var informational = 0
    private var size = 0

    // Stays out of line: inlined into HTTPCheck.progress it made the release binary larger.
    // One function for the bytes and the lines they end: with the lines apart, the release
    // binary was larger.
    @inline(never)  // size: measured
    mutating func read(_ bytes: ArraySlice<UInt8>) -> Reading {
        for b in bytes {
            size += 1
            guard size <= Self.maxBytes else { return .failed("the response's headers are larger than 10 MiB") }
            guard b == 10 else {
                if line.count < Self.lineLimit { line.append(b) } else { lineCut = true }
                continue
            }
            if line.last == 13 && !lineCut { line.removeLast() }  // CR LF, or a bare LF as Go takes it
            defer {
                line.removeAll(keepingCapacity: true)
                lineCut = false
            }
            if status < 0 {
                line.append(10)
                guard case .status(let code) = parseStatusLine(line) else { return .failed("malformed HTTP status line") }
                status = code
            } else if line.isEmpty {  // the end of this response's head
                guard status >= 100 && status < 200 && status != 101 else { return .response(status, location: location) }
                informational += 1
                if informational > 5 { return .failed("too many 1xx informational responses") }
                status = -1
                location = nil
                size = 0  // Go gives each head the whole limit
            } else if line[0] != 32 && line[0] != 9 {  // not the continuation of the line before
                // textproto.ReadMIMEHeader: a header line without a colon fails the response.
                guard let colon = line.firstIndex(of: 58) else { return .failed("malformed HTTP header line") }
                // "location" in any case, as 8 bytes in one word.
                if location == nil && colon == 8 && line[..<8].reduce(0, { $0 << 8 | UInt64($1 | 32) }) == 0x6c6f_6361_7469_6f6e {
                    // Header.Get: the first one, without the blanks around it.
                    var from = 9
                    var to = line.count
                    while from < to && (line[from] == 32 || line[from] == 9) { from += 1 }
                    while to > from && (line[to - 1] == 32 || line[to - 1] == 9) { to -= 1 }
                    location = Array(line[from..<to])
                    locationCut = lineCut
                }
            }
        }
        return .more
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
/// an IPv6 or DNS name is always another host. Index loops over the bytes, no slices copied:
/// the release binary is smaller so.
@inline(never)  // cold
func redirect(to location: [UInt8], from url: HTTPURL, hostname: String) -> Redirect {
    let end = location.firstIndex(of: 35) ?? location.count  // a fragment is never sent
    // A scheme: what comes before a ':' that comes before any '/' or '?'; -1 for none, else
    // the index of its ':'.
    var scheme = -1
    for k in 0..<end {
        if location[k] == 47 || location[k] == 63 { break }
        if location[k] == 58 {
            scheme = k
            break
        }
    }
    var i = scheme + 1  // where the authority or the path starts
    var text = Array("http://".utf8)
    let authority = end - i >= 2 && location[i] == 47 && location[i + 1] == 47  // "//user@host:port"
    if authority {
        i += 2
        var host = i
        while i < end && location[i] != 47 && location[i] != 63 {
            if location[i] == 64 { host = i + 1 }
            i += 1
        }
        var port = i
        for k in host..<i where location[k] == 58 { port = k }
        guard location[host..<port].elementsEqual(hostname.utf8) else { return .otherHost }
        text += location[host..<i]
    } else if scheme >= 0 {
        return .unusable("the redirect's Location has no host")
    } else {
        text += hostname.utf8
        text.append(58)
        text += String(url.port).utf8
    }
    // "http" in any case, as 4 bytes in one word.
    if scheme >= 0 && (scheme != 4 || location[..<4].reduce(0, { $0 << 8 | UInt32($1 | 32) }) != 0x6874_7470) {
        return .unusable("a redirect to " + String(decoding: location[..<scheme], as: UTF8.self) + ", which usher cannot follow")
    }
    // Path and query: the Location's, its path resolved against the one asked (Go's
    // ResolveReference); a Location of only a fragment asks the same URL again.
    if authority || i < end {
        let q = location[i..<end].firstIndex(of: 63) ?? end
        var base = authority ? [] : Array(url.path.utf8)
        base.removeSubrange((base.firstIndex(of: 63) ?? base.count)...)
        text += resolvePath(base, Array(location[i..<q]))
        text += location[q..<end]
    } else {
        text += url.path.utf8
    }
    guard let next = HTTPURL(String(decoding: text, as: UTF8.self)) else {
        return .unusable("the redirect's Location is not a URL usher can follow")
    }
    return .follow(next, keepsHost: scheme < 0)
}

/// Go's url.resolvePath: `ref` merged onto `base` (after its last '/'), "." and ".." segments
/// removed, a trailing '/' kept; an empty result is "/" (what the request line then asks).
func resolvePath(_ base: [UInt8], _ ref: [UInt8]) -> [UInt8] {
    var full = ref
    if ref.isEmpty {
        full = base
    } else if ref[0] != 47 {
        full = base
        full.removeSubrange((full.lastIndex(of: 47).map { $0 + 1 } ?? 0)...)
        full += ref
    }
    var out: [UInt8] = []
    var start = 0  // of the segment ending at i
    var dots = false
    for i in 0...full.count where i == full.count || full[i] == 47 {  // each segment ends at a '/'
        let n = i - start
        dots = n >= 1 && n <= 2 && full[start] == 46 && full[i - 1] == 46
        if dots && n == 2 {
            out.removeSubrange((out.lastIndex(of: 47) ?? out.count)...)
        } else if !dots {
            out.append(47)
            out += full[start..<i]
        }
        start = i + 1
    }
    if dots || out.isEmpty { out.append(47) }
    if out.count > 1 && out[1] == 47 { out.removeFirst() }
    return out
}
