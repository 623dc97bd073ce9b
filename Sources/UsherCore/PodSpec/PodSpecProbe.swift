/// The container's probe in `field` (`startupProbe`, `readinessProbe` or `livenessProbe`), with
/// Kubernetes' defaults and minimums; nil when it has none. `statics`: the container's env
/// entries as written, which an exec probe's command is expanded against.
func decodeProbe(_ c: Fields, _ field: String, _ statics: Variables = Variables()) throws(UsageError) -> Plan.Probe? {
    let handlers = ["exec", "httpGet", "tcpSocket", "grpc"]
    guard let p = try c.mapping(
        field, used: handlers + ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold",
                                 "terminationGracePeriodSeconds"])
    else { return nil }
    let check: Plan.Handler
    var written: [String]?
    switch try oneHandler(p, among: handlers, supported: "exec, httpGet or tcpSocket") {
    case 0:
        let command = try decodeExec(p)
        check = .exec(try expandProbeCommand(p, command, statics))
        if command.contains(where: { $0.utf8.contains(36) }) { written = command }  // a "$": perhaps expanded
    case 1: check = try decodeHTTPGet(p, container: c)
    case 2: check = try decodeTCPSocket(p, container: c)
    default: throw p.error(p.key("grpc") ?? p.node, "grpc", "gRPC probes are not supported by usher (use exec, httpGet or tcpSocket)")
    }
    var probe = Plan.Probe(check: check)
    probe.writtenCommand = written
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

/// An exec probe's command with its `$(VAR)` references expanded as the kubelet expands it
/// before each run (pkg/kubelet/prober/prober.go, runProbe:
/// `kubecontainer.ExpandContainerCommandOnlyStatic(p.Exec.Command, container.Env)`): against the
/// container's `env` entries as written, the last of a name winning, an entry set by `valueFrom`
/// counting as empty, and a value not itself expanded first (it maps `env.Value`, not the
/// resolved environment, so neither env files nor fileKeyRef values reach a probe's command).
/// The hooks' commands are not expanded (lifecycle/handlers.go runs `Exec.Command` as it is).
/// The rule itself is the one of command and args: `expandReferences`.
@inline(never)  // size: frame
private func expandProbeCommand(_ p: Fields, _ command: [String], _ statics: Variables) throws(UsageError) -> [String] {
    var argv: [String] = []
    for (i, word) in command.enumerated() {
        guard let value = expandReferences(word, statics, limit: maxArgumentBytes - 1) else {
            let e = try p.mapping("exec", used: ["command"]) ?? p  // decodeExec has read both already
            let node = try e.items("command", of: "strings")?[i] ?? p.node
            throw locatedError(p.file, node, indexed(e.path("command"), i), tooLongText(i == 0 ? "the program" : "the argument", word))
        }
        argv.append(value)
    }
    return argv
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
@inline(never)  // size: frame
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
