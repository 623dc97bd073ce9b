// Shared by every fuzz target (each target is one file in Targets/ with the libFuzzer entry
// point). Normal-mode Swift: the harness may use Glibc; UsherCore itself never sees this file.
import Glibc
import UsherCore

/// The fuzz input as it arrives.
func inputBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Bytes as usher sees a C string from argv or the environment: up to the first NUL, invalid
/// UTF-8 repaired the way `String(cString:)` repairs it.
func cString(_ bytes: ArraySlice<UInt8>) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
    return String(decoding: bytes[..<end], as: UTF8.self)
}

/// An invariant the harness checks did not hold: print what and the input, then abort, which
/// libFuzzer reports as a crash and saves the input for.
func broken(_ what: String, _ detail: String = "") -> Never {
    fputs("fuzz: invariant broken: \(what)\n\(detail)\n", stderr)
    abort()
}

/// What usher prints as `usher: MESSAGE` before exiting with status 2.
func checkUsageMessage(_ message: String, _ context: @autoclosure () -> String) {
    if message.isEmpty { broken("empty usage error message", context()) }
    if message.utf8.starts(with: "usher:".utf8) {
        broken("usage error already starts with \"usher:\" (usher adds that prefix): \(message)", context())
    }
}

/// decodeConfig's errors point into the file: `FILE:LINE:COLUMN: message`, LINE and COLUMN
/// positive decimal numbers, LINE no further than one past the file's last line.
func checkConfigMessage(_ message: String, file: String, input: [UInt8]) {
    checkUsageMessage(message, "")
    let bytes = Array(message.utf8)
    let prefix = Array((file + ":").utf8)
    func fail(_ why: String) -> Never {
        broken("config error not in the form \(file):LINE:COLUMN: message (\(why)): \(message)")
    }
    guard bytes.starts(with: prefix) else { fail("no file name") }
    var i = prefix.count
    func number() -> Int? {
        let start = i
        var n = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, i - start < 12 {
            n = n * 10 + Int(bytes[i] - 48)
            i += 1
        }
        return i > start ? n : nil
    }
    guard let line = number(), i < bytes.count, bytes[i] == 58 else { fail("no line") }
    i += 1
    guard let column = number(), i + 1 < bytes.count, bytes[i] == 58, bytes[i + 1] == 32 else { fail("no column") }
    if line < 1 || column < 1 { fail("line or column below 1") }
    // libyaml counts CR, LF, CR LF and the Unicode breaks NEL, LS and PS as line breaks: bytes
    // CR, LF, 0x85, 0xA8 and 0xA9 give an upper bound that holds for UTF-16 input too.
    let lines = input.reduce(1) { $0 + ([10, 13, 0x85, 0xA8, 0xA9].contains($1) ? 1 : 0) }
    if line > lines + 1 { fail("line \(line) is past the end of a file of \(lines) lines") }
    if bytes.count == i + 2 { fail("nothing after the position") }
}

/// The exec bounds a plan's strings keep (restated here, not read from UsherCore, so that the
/// harness checks them independently): one argument or NAME=value entry with its NUL at most
/// 128 KiB (MAX_ARG_STRLEN), one container's argv and env at most 2 MiB, all of them 8 MiB.
let maxArgumentBytes = 128 << 10
let maxExecBytes = 2 << 20
let maxPlanBytes = 8 << 20

/// What the engine relies on in a plan that parsed: something to run, every argv with a
/// program, durations that are not negative, probe timings it can schedule, HTTP probe requests
/// that stay well-formed, argv and env within what exec takes (whatever `$(VAR)` expansion and
/// aliases made of them). planText (what `usher check` prints) must not trap either.
func checkPlan(_ plan: Plan, _ context: @autoclosure () -> String) {
    if plan.containers.isEmpty { broken("plan without processes", context()) }
    if plan.mainIndices.isEmpty { broken("plan without a main process", context()) }
    if plan.grace < 0 { broken("negative grace \(plan.grace)", context()) }
    var planBytes = 0
    for p in plan.containers {
        var execBytes = 0
        for s in p.argv + p.env {
            let n = s.utf8.count + 1
            if n > maxArgumentBytes { broken("\(p.name): a string of \(n) bytes in argv or env, past MAX_ARG_STRLEN", context()) }
            execBytes += n
        }
        if execBytes > maxExecBytes { broken("\(p.name): argv and env of \(execBytes) bytes, past 2 MiB", context()) }
        planBytes += execBytes
        if planBytes > maxPlanBytes { broken("argv and env of \(planBytes) bytes in the plan, past 8 MiB", context()) }
        if p.argv.isEmpty { broken("\(p.name): empty argv", context()) }
        if let first = p.argv.first, first.isEmpty { broken("\(p.name): empty program name", context()) }
        if p.stopSignal < 1 || p.stopSignal > 64 { broken("\(p.name): stop signal \(p.stopSignal)", context()) }
        for kind in [Plan.ProbeKind.startup, .readiness, .liveness] {
            guard let probe = p.probe(kind) else { continue }
            if probe.period <= 0 || probe.timeout <= 0 || probe.initialDelay < 0 {
                broken("\(p.name): probe timings \(probe.period) \(probe.timeout) \(probe.initialDelay)", context())
            }
            if probe.successThreshold < 1 || probe.failureThreshold < 1 {
                broken("\(p.name): probe thresholds", context())
            }
            if let g = probe.terminationGrace, g <= 0 { broken("\(p.name): probe grace \(g)", context()) }
            switch probe.check {
            case .exec(let argv):
                if argv.isEmpty { broken("\(p.name): exec probe without a command", context()) }
            case .http(let url, let headers):
                checkURL(url, context())
                for h in headers {
                    if h.name.isEmpty || h.name.utf8.contains(where: { $0 <= 32 || $0 == 58 || $0 >= 127 }) {
                        broken("\(p.name): header name \(h.name.debugDescription)", context())
                    }
                    if h.value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
                        broken("\(p.name): header value with a line break: \(h.value.debugDescription)", context())
                    }
                }
            case .tcp(let url):
                if url.port == 0 { broken("\(p.name): tcp probe to port 0", context()) }
            case .sleep:
                broken("\(p.name): a sleep as a probe", context())
            }
        }
        if case .exec(let argv) = p.preStop, argv.isEmpty { broken("\(p.name): empty preStop command", context()) }
        if case .exec(let argv) = p.preStop, argv.contains(where: { $0.utf8.count >= maxArgumentBytes }) {
            broken("\(p.name): a preStop argument past MAX_ARG_STRLEN", context())
        }
        for hook in [p.preStop, p.postStart] {
            if case .sleep(let d) = hook, d <= 0 { broken("\(p.name): a hook sleep of \(d)", context()) }
            if case .tcp = hook { broken("\(p.name): a tcpSocket hook", context()) }
            if case .http(let url, _) = hook { checkURL(url, context()) }
        }
        if case .exec(let argv) = p.postStart, argv.isEmpty { broken("\(p.name): empty postStart command", context()) }
        if !p.restartRules.isEmpty && p.restartPolicy == nil { broken("\(p.name): restart rules without a policy", context()) }
    }
    _ = planText(plan)
}

/// Seconds on the monotonic clock, for the harnesses' time budgets.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A URL a probe sends a request line for: a port, a path that starts with `/` and has no
/// blank or control byte (it goes into `GET PATH HTTP/1.1` as it is).
func checkURL(_ url: HTTPURL, _ context: @autoclosure () -> String) {
    if url.port == 0 { broken("URL with port 0", context()) }
    if url.path.utf8.first != 47 { broken("URL path not starting with /: \(url.path.debugDescription)", context()) }
    if url.path.utf8.contains(where: { $0 <= 32 || $0 == 127 }) {
        broken("URL path with a blank or control byte: \(url.path.debugDescription)", context())
    }
}
