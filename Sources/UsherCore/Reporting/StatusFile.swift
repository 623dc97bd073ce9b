/// The status file (`--status-file`, default /run/usher/status) and `usher status`, which reads
/// it: the group's readiness for a HEALTHCHECK or an exec probe of the container usher runs in,
/// without a socket. One line per fact, so that the reader needs no parser beyond splitting:
///
///     usher-status 1
///     pid 1
///     up yes
///     container proxy sidecar running 12 0
///     container app main ready 13 2
///
/// (`container NAME ROLE STATE PID RESTARTS`, `-` for no pid; names have no blanks.)

let defaultStatusPath = "/run/usher/status"

func statusFileText(pid: Int32, up: Bool, _ containers: [ContainerStatus]) -> String {
    var bytes: [UInt8] = []
    appendStatusHead(to: &bytes, pid: pid, up: up)
    for c in containers { appendStatusLine(to: &bytes, c) }
    return String(decoding: bytes, as: UTF8.self)
}

/// The status file's first three lines, appended to `out`. Built as bytes into a buffer the
/// reporter keeps, not as a String: the file is rebuilt after every wake-up that changed
/// something, and with a few hundred containers String appends (a call and a growth check
/// for each piece) made the rebuild most of what a shutdown step cost.
func appendStatusHead(to out: inout [UInt8], pid: Int32, up: Bool) {
    appendText(to: &out, "usher-status 1\npid ")
    appendDecimal(to: &out, Int(pid))
    appendText(to: &out, up ? "\nup yes\n" : "\nup no\n")
}

/// One container's line, appended to `out`.
func appendStatusLine(to out: inout [UInt8], _ c: ContainerStatus) {
    appendText(to: &out, "container ")
    appendText(to: &out, c.name)
    out.append(32)
    appendText(to: &out, c.role.name)
    out.append(32)
    appendText(to: &out, stateWord(c.state))
    out.append(32)
    if let pid = c.pid { appendDecimal(to: &out, Int(pid)) } else { out.append(45) }  // "-"
    out.append(32)
    appendDecimal(to: &out, c.restarts)
    out.append(10)
}

/// `text`'s bytes, appended to `out`.
private func appendText(to out: inout [UInt8], _ text: String) {
    out.append(contentsOf: text.utf8)
}

/// `n` in decimal, appended to `out` (pids and restart counts: never negative).
private func appendDecimal(to out: inout [UInt8], _ n: Int) {
    let v = n.magnitude
    if v >= 10 { appendDecimal(to: &out, Int(v / 10)) }
    out.append(UInt8(truncatingIfNeeded: 48 + v % 10))
}

/// What a status file says, read back.
struct StatusReport: Equatable {
    var pid: Int32
    var up: Bool
    var containers: [ContainerStatus]
}

func parseStatusFile(_ bytes: [UInt8]) -> StatusReport? {
    let lines = splitBytes(bytes[...], 10).map { splitBytes($0, 32).map { String(decoding: $0, as: UTF8.self) } }
    guard lines.count >= 3, lines[0].count == 2, same(lines[0][0], "usher-status"), same(lines[0][1], "1"),
          lines[1].count == 2, same(lines[1][0], "pid"), let pid = Int32(decimal: lines[1][1]),
          lines[2].count == 2, same(lines[2][0], "up") else { return nil }
    var report = StatusReport(pid: pid, up: same(lines[2][1], "yes"), containers: [])
    for words in lines.dropFirst(3) {
        guard words.count == 6, same(words[0], "container"), let role = Plan.Role(named: words[2]),
              let state = stateNamed(words[3]), let restarts = Int32(decimal: words[5]) else { return nil }
        report.containers.append(ContainerStatus(name: words[1], role: role, state: state,
                                                 pid: Int32(decimal: words[4]), restarts: Int(restarts)))
    }
    return report
}

/// `usher status`'s output: a line a container, or one JSON object.
func statusText(_ r: StatusReport, json: Bool) -> String {
    if json {
        var out = "{\"ready\":\(r.up ? "true" : "false"),\"pid\":\(r.pid),\"containers\":["
        for (n, c) in r.containers.enumerated() {
            var o = JSONObject()
            o.string("name", c.name)
            o.string("role", c.role.name)
            o.string("state", stateWord(c.state))
            if let pid = c.pid { o.number("pid", Int64(pid)) } else { o.raw("pid", "null") }
            o.number("restarts", Int64(c.restarts))
            o.raw("ready", c.state == .ready || (c.role == .sidecar && c.state == .running) ? "true" : "false")
            out += (n > 0 ? "," : "") + o.text + "}"
        }
        return out + "]}\n"
    }
    var out = r.up ? "ready: every main container is ready and every sidecar started\n" : "not ready\n"
    for c in r.containers {
        out += "  \(c.name) (\(c.role.name)): \(stateWord(c.state))"
        if let pid = c.pid { out += ", pid \(pid)" }
        if c.restarts > 0 { out += ", \(c.restarts) restart(s)" }
        out += "\n"
    }
    return out
}

private let stateWords: [(ContainerStatus.State, String)] = [
    (.waiting, "waiting"), (.starting, "starting"), (.running, "running"), (.ready, "ready"),
    (.notReady, "not-ready"), (.restarting, "restarting"), (.stopping, "stopping"), (.exited, "exited"), (.failed, "failed"),
]

func stateWord(_ s: ContainerStatus.State) -> String { stateWords.first { $0.0 == s }?.1 ?? "?" }
private func stateNamed(_ w: String) -> ContainerStatus.State? { stateWords.first { same($0.1, w) }?.0 }

