/// The container's probe in `field` (`startupProbe`, `readinessProbe` or `livenessProbe`), with
/// Kubernetes' defaults and minimums; nil when it has none.
func decodeProbe(_ c: Fields, _ field: String) throws(UsageError) -> Plan.Probe? {
    let handlers = ["exec", "httpGet", "tcpSocket", "grpc"]
    guard let p = try c.mapping(
        field, used: handlers + ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold",
                                 "terminationGracePeriodSeconds"])
    else { return nil }
    let check: Plan.Handler
    switch try oneHandler(p, among: handlers, supported: "exec, httpGet or tcpSocket") {
    case 0: check = .exec(try decodeExec(p))
    case 1: check = try decodeHTTPGet(p, container: c)
    case 2: check = try decodeTCPSocket(p, container: c)
    default: throw p.error(p.key("grpc") ?? p.node, "grpc", "gRPC probes are not supported by usher (use exec, httpGet or tcpSocket)")
    }
    var probe = Plan.Probe(check: check)
    // int32 seconds times 1e9 stays far inside Int64.
    if let n = try p.integer("initialDelaySeconds", min: 0) { probe.initialDelay = n * nanosPerSecond }
    if let n = try p.integer("periodSeconds", min: 1) { probe.period = n * nanosPerSecond }
    if let n = try p.integer("timeoutSeconds", min: 1) { probe.timeout = n * nanosPerSecond }
    if let n = try p.integer("failureThreshold", min: 1) { probe.failureThreshold = Int(n) }
    // The grace period of the restart a failing probe causes (the pod's when absent).
    if let n = try p.integer("terminationGracePeriodSeconds", min: 1) { probe.terminationGrace = n * nanosPerSecond }
    if let n = try p.integer("successThreshold", min: 1) {
        if n != 1 && !same(field, "readinessProbe") {
            throw p.error(p["successThreshold"] ?? p.node, "successThreshold", "must be 1 for a " + (same(field, "startupProbe") ? "startup" : "liveness") + " probe")
        }
        probe.successThreshold = Int(n)
    }
    return probe
}

func decodeHTTPGet(_ probe: Fields, container: Fields) throws(UsageError) -> Plan.Handler {
    guard let h = try probe.mapping("httpGet", used: ["path", "port", "host", "scheme", "httpHeaders"]) else {
        return .exec([])  // not taken: oneHandler saw it
    }
    if let scheme = try h.string("scheme") {
        if same(scheme, "HTTPS") {
            throw h.error(h["scheme"] ?? h.node, "scheme", "HTTPS is not supported by usher (its probes speak plain HTTP)")
        }
        if !same(scheme, "HTTP") {
            let node = h["scheme"] ?? h.node
            throw h.error(node, "scheme", node.shown + " is not a scheme (use HTTP)")
        }
    }
    let port = try decodePort(h, container: container)
    var target = "/"
    if let text = try h.string("path"), !text.isEmpty {
        // It goes into the request line as written: a space or a line break would break it.
        guard text.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            let node = h["path"] ?? h.node
            throw h.error(node, "path", node.shown + " must not contain spaces or control characters")
        }
        target = text.utf8.first == 47 ? text : "/" + text  // the kubelet sends "healthz" as "/healthz"
    }
    let headers = try decodeHeaders(h)
    return .http(try probeAddress(h, port: port, path: target), headers: headers)
}

/// `httpHeaders` of an httpGet handler.
@inline(never)
private func decodeHeaders(_ h: Fields) throws(UsageError) -> [Plan.Header] {
    var headers: [Plan.Header] = []
    for e in try h.mappings("httpHeaders", of: "headers (name and value)", used: ["name", "value"]) ?? [] {
        let nameNode = try e.required("name")
        let name = try readString(e.file, nameNode, e.path("name"))
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 58 }) else {
            throw e.error(nameNode, "name", nameNode.shown + " is not a valid header name")
        }
        let value = try e.string("value") ?? ""
        if value.utf8.contains(where: { $0 == 10 || $0 == 13 }) {
            throw e.error(e["value"] ?? e.node, "value", "must not contain a line break")
        }
        headers.append(Plan.Header(name: name, value: value))
    }
    return headers
}

private func decodeTCPSocket(_ probe: Fields, container: Fields) throws(UsageError) -> Plan.Handler {
    guard let t = try probe.mapping("tcpSocket", used: ["port", "host"]) else { return .exec([]) }  // not taken
    let port = try decodePort(t, container: container)
    return .tcp(try probeAddress(t, port: port, path: "/"))
}

/// The handler's `host` with `port` and `path`, parsed as an HTTPURL, which takes an IPv4
/// address or localhost: the static binary has no DNS resolver. Without a host the kubelet uses
/// the pod's IP: the URL is marked to use the container's own address at run time (see
/// `ownAddress`), with 127.0.0.1 to fall back on.
private func probeAddress(_ handler: Fields, port: UInt16, path: String) throws(UsageError) -> HTTPURL {
    var host = try handler.string("host") ?? ""
    let podAddress = host.isEmpty
    if podAddress { host = "127.0.0.1" }
    // The host must come back whole: "10.0.0.1/x" would otherwise parse with part of it as path.
    guard let url = HTTPURL("http://" + host + ":" + String(port) + path), same(url.host, host) else {
        let node = handler["host"] ?? handler.node
        throw handler.error(node, "host", node.shown + " is not an IPv4 address or localhost (usher's static binary resolves no host names)")
    }
    var result = url
    result.podAddress = podAddress
    return result
}

/// A handler's `port`: a number, or the name of one of the container's `ports`.
private func decodePort(_ handler: Fields, container: Fields) throws(UsageError) -> UInt16 {
    let node = try handler.required("port")
    guard case .scalar = node.content else { throw typeError(handler.file, node, handler.path("port"), expected: "a port number or name") }
    if case .int = node.resolvedScalar {
        return UInt16(truncatingIfNeeded: try handler.integer("port", min: 1, max: 65535) ?? 0)
    }
    let name = try readString(handler.file, node, handler.path("port"))
    // Only the two fields needed: the rest of a port (protocol, hostPort, ...) is ignored.
    for port in try container.mappings("ports", of: "ports", used: ["name", "containerPort"], open: true) ?? [] {
        guard let portName = try port.string("name"), same(portName, name) else { continue }
        _ = try port.required("containerPort")
        return UInt16(truncatingIfNeeded: try port.integer("containerPort", min: 1, max: 65535) ?? 0)
    }
    throw handler.error(node, "port", "no port named " + node.shown + " in " + container.path("ports"))
}
