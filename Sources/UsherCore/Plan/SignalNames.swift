/// Signal names, both ways: signal N is the Nth name, Linux's numbering 1 to 31 (x86_64 and
/// arm64 agree on these).
private let signalNames = nameList("""
    HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP
    TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS
    """)

/// Parses `SIGTERM`, `TERM`, `sigterm` or a number such as `15`. Returns nil for anything that
/// is not a signal this system can deliver.
public func parseSignal(_ text: String) -> Int32? {
    var bytes = Array(text.utf8)
    if bytes.isEmpty { return nil }
    if bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
        guard let n = plainDecimal(bytes[...], maxDigits: 3), n >= 1, n <= Int(realtimeSignalMax()) else { return nil }
        return Int32(n)
    }
    // Case-insensitive over ASCII only.
    for i in 0..<bytes.count where bytes[i] >= 97 && bytes[i] <= 122 { bytes[i] -= 32 }
    if bytes.count > 3 && bytes[0] == 83 && bytes[1] == 73 && bytes[2] == 71 {  // "SIG"
        bytes.removeFirst(3)
    }
    for (i, name) in signalNames.enumerated() where Array(name.utf8) == bytes { return Int32(i + 1) }
    return nil
}

/// `SIGTERM` for 15; `SIG34` style for real-time and unknown numbers.
public func signalName(_ number: Int32) -> String {
    if number >= 1 && Int(number) <= signalNames.count { return "SIG" + signalNames[Int(number) - 1] }
    return "SIG\(number)"
}

/// A `lifecycle.stopSignal` as the Kubernetes API takes it: exactly one of the names of its
/// Linux list (`SIGTERM`, not `TERM`, `sigterm` or `15`), the aliases SIGCLD, SIGIOT and SIGPOLL,
/// and `SIGRTMIN`, `SIGRTMIN+1` to `+15`, `SIGRTMAX-14` to `-1`, `SIGRTMAX`, numbered as the
/// container runtimes number them (SIGRTMIN 34, SIGRTMAX 64, glibc's convention; musl's own
/// SIGRTMIN macro is 35, which is why these are not taken from the C library).
func apiStopSignal(_ text: String) -> Int32? {
    let bytes = Array(text.utf8)
    guard bytes.count > 3, bytes[0] == 83, bytes[1] == 73, bytes[2] == 71 else { return nil }  // "SIG"
    let rest = Array(bytes[3...])
    for (i, name) in signalNames.enumerated() where Array(name.utf8) == rest { return Int32(i + 1) }
    for (name, number) in [("CLD", 17), ("IOT", 6), ("POLL", 29)] as [(String, Int32)] where Array(name.utf8) == rest {
        return number
    }
    func offset(after prefix: String, sign: UInt8, max: Int) -> Int32? {
        let p = Array(prefix.utf8)
        guard rest.starts(with: p) else { return nil }
        let tail = rest[p.count...]
        if tail.isEmpty { return 0 }
        guard tail.first == sign, tail.dropFirst().first != 48,
              let n = plainDecimal(tail.dropFirst(), maxDigits: 2), n >= 1, n <= max else { return nil }
        return Int32(n)
    }
    if let n = offset(after: "RTMIN", sign: 43, max: 15) { return 34 + n }  // "+"
    if let n = offset(after: "RTMAX", sign: 45, max: 14) { return 64 - n }  // "-"
    return nil
}

extension ExitStatus {
    /// How it reads in the log and in messages: `status 1`, `signal SIGTERM`.
    public var description: String {
        switch self {
        case .exited(let c): return "status \(c)"
        case .signaled(let s): return "signal \(signalName(s))"
        }
    }
}
