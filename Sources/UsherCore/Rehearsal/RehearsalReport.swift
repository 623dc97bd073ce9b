/// The rehearsal report: a timeline per process (started, stop signal, exited, how long its stop
/// took, status), each process's verdict, how much of the grace period the shutdown used, and
/// with several runs the spread. Text for people, JSON for tools.

public func rehearsalText(_ runs: [Rehearsal]) -> String {
    var out = ""
    for (n, run) in runs.enumerated() where n == 0 || !run.passed {
        if runs.count > 1 { out += "run \(n + 1) of \(runs.count):\n" }
        out += timeline(run)
        out += "\n"
    }
    if runs.count > 1 { out += spread(runs) + "\n" }
    let failed = runs.filter { !$0.passed }.count
    if failed == 0 {
        out += "verdict: PASS: every process stopped cleanly within the deadline"
        out += runs.count > 1 ? " in all \(runs.count) runs\n" : "\n"
    } else {
        out += "verdict: FAIL"
        out += runs.count > 1 ? " in \(failed) of \(runs.count) runs" : ""
        var reasons: [String] = []
        func add(_ line: String) {
            if !reasons.contains(where: { same($0, line) }) { reasons.append(line) }
        }
        for run in runs where !run.passed {
            for i in run.processes.indices where !run.verdict(i).passes {
                add("\(run.processes[i].name) \(run.verdict(i).text)")
            }
            if run.strayOrphans > 0 { add("\(run.strayOrphans) orphaned process(es) outlived the shutdown") }
            if run.droppedRequests > 0 { add("requests were dropped during the shutdown") }
            for (u, url) in run.probeURLs.enumerated() where run.stopAt != nil && !run.answeredBeforeStop(u) {
                add("probe \(url) was never answered before the stop signal, so the shutdown's requests prove nothing")
            }
            if let sig = run.interruptedBy { add("interrupted by \(signalName(sig)) from outside") }
            if run.stopAt == nil { add("the stop signal was never sent: everything exited before") }
        }
        out += ": " + reasons.joined(separator: "; ") + "\n"
    }
    return out
}

private func timeline(_ run: Rehearsal) -> String {
    let header = ["process", "pid", "started", "ready", "signal", "sent", "exited", "stop took", "status", "verdict"]
    var rows: [[String]] = [header]
    for (i, p) in run.processes.enumerated() {
        let at = { (t: Nanos?) -> String in t.map { "+" + formatSeconds($0 - run.startedAt) } ?? "-" }
        let took: String
        if let s = p.signaledAt, let e = p.exitedAt, e >= s { took = formatSeconds(e - s) } else { took = "-" }
        rows.append([
            p.name, p.pid.map { "\($0)" } ?? "-", at(p.startedAt), at(p.readyAt), p.signal.map(signalName) ?? "-",
            at(p.signaledAt), at(p.exitedAt), took, p.status.map { "\($0.code)" } ?? "-", run.verdict(i).text,
        ])
    }
    var widths = [Int](repeating: 0, count: header.count)
    for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.utf8.count) } }
    var out = ""
    for row in rows {
        var line = ""
        for (c, cell) in row.enumerated() {
            line += cell
            if c < row.count - 1 { line += String(repeating: " ", count: widths[c] - cell.utf8.count + 2) }
        }
        out += line + "\n"
    }
    if let stop = run.stopAt, let signal = run.stopSignal {
        out += "stop signal: \(signalName(signal)) at +\(formatSeconds(stop - run.startedAt))"
        if let took = run.shutdownDuration {
            out += "; shutdown took \(formatSeconds(took)) of the \(formatDuration(run.grace)) grace period"
            out += " (\(percent(took, of: run.grace)))"
        }
        out += "\n"
    }
    if run.strayOrphans > 0 {
        out += "\(run.strayOrphans) orphaned process(es) outlived the shutdown (killed after the report)\n"
    }
    for (u, url) in run.probeURLs.enumerated() {
        let c = run.requestCounts(u)
        let total = run.requests.filter { $0.url == u }.count
        out += "probe \(url): \(total) requests; \(c.duringShutdown) in flight at the stop signal"
        if run.probeFor > 0 { out += " or sent in the \(formatDuration(run.probeFor)) after it" }
        out += ", \(c.dropped) dropped"
        if c.failedBefore > 0 { out += "; \(c.failedBefore) failed before the stop signal (not counted)" }
        if let first = run.requests.first(where: { $0.url == u && !$0.passed && run.inShutdown($0) }) {
            out += "; first drop at +\(formatSeconds(first.startedAt - run.startedAt)): \(first.detail)"
        }
        if let stopAt = run.stopAt, !run.answeredBeforeStop(u) {
            out += "; no answer before the stop signal"
            // A loop rather than last(where:), which would be specialized for this one use.
            var last: String?
            for r in run.requests where r.url == u && !r.passed && r.endedAt <= stopAt { last = r.detail }
            if let last { out += " (last: \(last))" }
        }
        out += "\n"
    }
    return out
}

private func percent(_ part: Nanos, of whole: Nanos) -> String {
    guard whole > 0 else { return "-" }
    let tenths = part * 1000 / whole
    return "\(tenths / 10).\(tenths % 10)%"
}

private func spread(_ runs: [Rehearsal]) -> String {
    let shutdowns = runs.compactMap { $0.shutdownDuration }.sorted()
    guard let lo = shutdowns.first, let hi = shutdowns.last else { return "no run reached the shutdown" }
    let median = shutdowns[shutdowns.count / 2]
    var out = "shutdown over \(runs.count) runs: min \(formatSeconds(lo)), median \(formatSeconds(median)), max \(formatSeconds(hi))\n"
    for (i, p) in runs[0].processes.enumerated() {
        let stops = runs.compactMap { run -> Nanos? in
            guard let s = run.processes[i].signaledAt, let e = run.processes[i].exitedAt, e >= s else { return nil }
            return e - s
        }.sorted()
        let failed = runs.filter { !$0.verdict(i).passes }.count
        var line = "  \(p.name): "
        if let a = stops.first, let b = stops.last {
            line += "stop took min \(formatSeconds(a)), median \(formatSeconds(stops[stops.count / 2])), max \(formatSeconds(b))"
        } else {
            line += "never signalled"
        }
        line += failed == 0 ? "; clean in every run" : "; not clean in \(failed) of \(runs.count) runs"
        out += line + "\n"
    }
    return out
}

/// The same report as one JSON object: `passed`, `runs` (each with its `processes`), and with
/// several runs the `shutdown_ms` spread. Times are milliseconds with microsecond precision,
/// relative to the start of each run.
public func rehearsalJSON(_ runs: [Rehearsal]) -> String {
    var out = "{\"passed\":\(runs.allSatisfy { $0.passed }),\"runs\":["
    for (n, run) in runs.enumerated() {
        if n > 0 { out += "," }
        var o = JSONObject()
        o.raw("passed", run.passed ? "true" : "false")
        if let s = run.interruptedBy { o.string("interrupted_by", signalName(s)) }
        if let s = run.stopSignal { o.string("stop_signal", signalName(s)) }
        if let t = run.stopAt { o.raw("stop_ms", millis(t - run.startedAt)) }
        if let d = run.shutdownDuration {
            o.raw("shutdown_ms", millis(d))
            o.raw("grace_used", run.grace > 0 ? ratio(d, run.grace) : "null")
        }
        o.raw("grace_ms", millis(run.grace))
        if let code = run.exitCode { o.number("exit_status", Int64(code)) }
        o.number("stray_orphans", Int64(run.strayOrphans))
        if !run.probeURLs.isEmpty {
            var probes = "["
            for (u, url) in run.probeURLs.enumerated() {
                let c = run.requestCounts(u)
                var q = JSONObject()
                q.string("url", url)
                q.number("requests", Int64(run.requests.filter { $0.url == u }.count))
                q.number("during_shutdown", Int64(c.duringShutdown))
                q.number("dropped", Int64(c.dropped))
                q.number("failed_before_stop", Int64(c.failedBefore))
                q.raw("answered_before_stop", run.answeredBeforeStop(u) ? "true" : "false")
                probes += (u > 0 ? "," : "") + q.text + "}"
            }
            o.raw("probes", probes + "]")
        }
        var list = "["
        for (i, p) in run.processes.enumerated() {
            if i > 0 { list += "," }
            var q = JSONObject()
            q.string("name", p.name)
            q.string("role", p.role.name)
            if let pid = p.pid { q.number("pid", Int64(pid)) }
            if let t = p.startedAt { q.raw("started_ms", millis(t - run.startedAt)) }
            if let t = p.readyAt { q.raw("ready_ms", millis(t - run.startedAt)) }
            if let s = p.signal { q.string("signal", signalName(s)) }
            if let t = p.signaledAt { q.raw("signal_ms", millis(t - run.startedAt)) }
            if let t = p.exitedAt { q.raw("exited_ms", millis(t - run.startedAt)) }
            if let s = p.signaledAt, let e = p.exitedAt, e >= s { q.raw("stop_took_ms", millis(e - s)) }
            if let st = p.status { q.number("status", Int64(st.code)) }
            let v = run.verdict(i)
            q.string("verdict", v.key)
            q.string("verdict_text", v.text)
            q.raw("passed", v.passes ? "true" : "false")
            list += q.text + "}"
        }
        o.raw("processes", list + "]")
        out += o.text + "}"
    }
    out += "]"
    let shutdowns = runs.compactMap { $0.shutdownDuration }.sorted()
    if runs.count > 1, let lo = shutdowns.first, let hi = shutdowns.last {
        out += ",\"shutdown_ms\":{\"min\":\(millis(lo)),\"median\":\(millis(shutdowns[shutdowns.count / 2])),\"max\":\(millis(hi))}"
    }
    return out + "}\n"
}

/// Milliseconds with three decimals, as a JSON number.
private func millis(_ nanos: Nanos) -> String {
    let micros = nanos / 1000
    let frac = (micros < 0 ? -micros : micros) % 1000
    let pad = frac < 10 ? "00" : (frac < 100 ? "0" : "")
    return "\(micros / 1000).\(pad)\(frac)"
}

/// part/whole with four decimals, as a JSON number.
private func ratio(_ part: Nanos, _ whole: Nanos) -> String {
    let tenThousandths = part * 10000 / whole
    let frac = tenThousandths % 10000
    var digits = "\(frac)"
    while digits.utf8.count < 4 { digits = "0" + digits }
    return "\(tenThousandths / 10000).\(digits)"
}
