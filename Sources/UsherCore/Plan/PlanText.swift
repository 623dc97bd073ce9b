/// `usher check`: the resolved plan in words, so a user sees what will happen before it does:
/// the start order and what gates each step, restarts, the stop order with hooks and signals,
/// and the deadline. Environment values are never shown (they may hold secrets), only their
/// names. `podAddress` is the container's own address, where handlers without a host connect
/// (nil: none, they fall back to 127.0.0.1).
public func planText(_ plan: Plan, podAddress: UInt32? = nil) -> String {
    var text = "start order:\n"
    let mains = plan.mainIndices
    for (n, p) in plan.containers.enumerated() {
        let gate: String
        switch p.role {
        case .initStep:
            gate = "init container: runs to completion; the next starts when it exits 0"
        case .sidecar:
            gate = p.startupProbe == nil
                ? "sidecar: keeps running, restarted with back-off if it ends; the next starts at once"
                : "sidecar: keeps running, restarted with back-off if it ends; the next starts once its startup probe passes"
        case .main:
            gate = mains.count > 1 ? "main container, started with the other main containers" : "main container"
        }
        text += "  \(n + 1). \(p.name): \(gate)\n"
        text += "     command: \(commandText(p.writtenArgv ?? p.argv))\n"
        var context: [String] = []
        if let user = p.user { context.append("user \(user)") }
        if let group = p.group { context.append("group \(group)") }
        if let dir = p.workingDir { context.append("working directory \(dir)") }
        if p.noNewPrivileges { context.append("no privilege escalation") }
        if !p.env.isEmpty {
            context.append("environment: " + p.env.map { entry in
                let bytes = Array(entry.utf8)
                return String(decoding: bytes[..<(bytes.firstIndex(of: 61) ?? bytes.count)], as: UTF8.self)
            }.joined(separator: ", "))
        }
        if !context.isEmpty { text += "     \(context.joined(separator: "; "))\n" }
        if let hook = p.postStart {
            text += "     postStart: \(handlerText(hook, podAddress)); the next container waits for it, and a failure restarts this one\n"
        }
        for kind in [Plan.ProbeKind.startup, .readiness, .liveness] {
            if let probe = p.probe(kind) { text += "     \(probeName(kind)) probe: \(probeText(probe, podAddress))\n" }
        }
        if p.role != .sidecar { text += "     when it ends: \(restartText(p, plan))\n" }
        if p.role == .sidecar && p.startupProbe != nil {
            text += "     warning: while its startup probe does not pass it is restarted with back-off and the startup stays blocked, as the kubelet does\n"
        }
    }
    switch plan.restartPolicy {
    case .always:
        text += "on SIGTERM, SIGINT or SIGQUIT, or when a main container exits (usher then exits with its status):\n"
    case .onFailure, .never:
        text += "on SIGTERM, SIGINT or SIGQUIT, or once every main container is done (usher then exits 0 if all exited 0, else with the first failure's status):\n"
    }
    text += "  one deadline of \(formatDuration(plan.grace)) for the whole shutdown; SIGKILL to everything left then\n"
    text += "  every preStop starts at once; each stop signal follows its own preStop and its turn:\n"
    var step = 1
    let front = plan.containers.indices.filter { plan.containers[$0].role == .main }
    for i in front {
        let together = front.count > 1 ? " (main containers in parallel)" : ""
        text += "  \(step). \(plan.containers[i].name): \(stopText(plan.containers[i], podAddress))\(together)\n"
        if front.count == 1 || i == front.last { step += 1 }
    }
    for i in plan.containers.indices.reversed() where plan.containers[i].role == .sidecar {
        text += "  \(step). \(plan.containers[i].name): \(stopText(plan.containers[i], podAddress)), once the steps above have exited\n"
        step += 1
    }
    text += plan.grace > plan.minStopWindow
        ? "  stop window: \(formatDuration(plan.minStopWindow)) before the deadline every process still waiting gets its stop signal\n"
        : "  stop window: the grace period is no longer than \(formatDuration(plan.minStopWindow)): every stop signal goes out at once, no preStop runs\n"
    let forwarded = mains.map { plan.containers[$0].name }.joined(separator: ", ")
    text += "other signals are forwarded to: \(forwarded)\n"
    return text
}

/// What happens when a main or init container ends: its restart rules, then its restart
/// policy (its own or the pod's).
private func restartText(_ p: Plan.Container, _ plan: Plan) -> String {
    var parts: [String] = []
    for rule in p.restartRules {
        parts.append("restarted if its exit code is " + (rule.exitCodesIn ? "In" : "NotIn") + " ["
                     + rule.values.map { "\($0)" }.joined(separator: ", ") + "] (restartPolicyRules)")
    }
    let policy = p.restartPolicy ?? plan.restartPolicy
    let whose = p.restartPolicy == nil ? "the pod's" : "its own"
    switch (policy, p.role) {
    case (.always, .main) where p.restartPolicy == nil:
        parts.append("the pod ends (\(whose) restartPolicy Always: the engine restarts the container)")
    case (.always, _): parts.append("restarted with back-off (\(whose) restartPolicy Always)")
    case (.onFailure, _): parts.append("restarted with back-off unless it exited 0 (\(whose) restartPolicy OnFailure)")
    case (.never, .initStep): parts.append("a failure stops the startup (\(whose) restartPolicy Never)")
    case (.never, _): parts.append("not restarted (\(whose) restartPolicy Never)")
    }
    if policy == .always && p.role == .initStep && p.restartPolicy == nil {
        parts[parts.count - 1] = "a failure stops the startup; usher exits with \(Plan.startupFailedStatus) (the pod's restartPolicy Always: the engine restarts the container)"
    }
    return parts.joined(separator: "; otherwise ")
}

private func stopText(_ p: Plan.Container, _ podAddress: UInt32?) -> String {
    switch p.preStop {
    case .sleep(let wait)?: return "preStop sleep \(formatDuration(wait)), then \(signalName(p.stopSignal))"
    case let hook?: return "preStop \(handlerText(hook, podAddress)), waited for, then \(signalName(p.stopSignal))"
    case nil: return signalName(p.stopSignal)
    }
}

/// A handler as `usher check` shows it: `exec ...`, `httpGet http://...`, `tcpSocket ...`.
private func handlerText(_ handler: Plan.Handler, _ podAddress: UInt32?) -> String {
    /// Where it connects; without a host in the file, the container's own address.
    func host(_ url: HTTPURL) -> String {
        guard url.podAddress else { return url.host }
        return formatIPv4(podAddress ?? url.address)
    }
    func note(_ url: HTTPURL) -> String {
        guard url.podAddress else { return "" }
        return podAddress == nil ? " (no host: the container has no address but loopback)" : " (no host: the container's own address)"
    }
    switch handler {
    case .exec(let argv): return "exec \(commandText(argv))"
    case .tcp(let url): return "tcpSocket \(host(url)):\(url.port)" + note(url)
    case .http(let url, let headers):
        return "httpGet http://\(host(url)):\(url.port)\(url.path)"
            + (headers.isEmpty ? "" : " with " + headers.map { $0.name }.joined(separator: ", ")) + note(url)
    case .sleep(let wait): return "sleep \(formatDuration(wait))"
    }
}

private func probeText(_ probe: Plan.Probe, _ podAddress: UInt32?) -> String {
    let check = probe.writtenCommand.map { "exec \(commandText($0))" } ?? handlerText(probe.check, podAddress)
    var text = "\(check), every \(formatDuration(probe.period)), timeout \(formatDuration(probe.timeout))"
    if probe.initialDelay > 0 { text += ", first after \(formatDuration(probe.initialDelay))" }
    text += ", fails after \(probe.failureThreshold)"
    if probe.successThreshold > 1 { text += ", passes after \(probe.successThreshold)" }
    return text
}

/// A command as a shell would take it, with a multi-line word (an inline script) cut to its first
/// line: the plan shows what runs, not the script.
private func commandText(_ argv: [String]) -> String {
    argv.map { word in
        let lines = splitBytes(Array(word.utf8)[...], 10, omittingEmpty: false)
        guard lines.count > 1 else { return quotedWord(word) }
        let first = String(decoding: lines[0], as: UTF8.self)
        return quotedWord(first + " ...") + " (a script of \(lines.count) lines)"
    }.joined(separator: " ")
}

/// A word as a POSIX shell would need it written: bare when it is plain, else single-quoted.
func quotedWord(_ word: String) -> String {
    let plain = !word.isEmpty && word.utf8.allSatisfy { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
            || b == 45 || b == 95 || b == 46 || b == 47 || b == 61 || b == 58 || b == 44 || b == 43 || b == 64
    }
    if plain { return word }
    var out = "'"
    for c in word.utf8 {
        if c == 39 { out += "'\\''" } else { out += String(decoding: [c], as: UTF8.self) }
    }
    return out + "'"
}
