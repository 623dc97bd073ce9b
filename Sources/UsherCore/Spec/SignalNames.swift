import CUsher

/// Signal names, both ways. The table is Linux's numbering (x86_64 and arm64 agree on these).
private let signalNames: [(String, Int32)] = [
    ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("BUS", 7),
    ("FPE", 8), ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13),
    ("ALRM", 14), ("TERM", 15), ("STKFLT", 16), ("CHLD", 17), ("CONT", 18), ("STOP", 19),
    ("TSTP", 20), ("TTIN", 21), ("TTOU", 22), ("URG", 23), ("XCPU", 24), ("XFSZ", 25),
    ("VTALRM", 26), ("PROF", 27), ("WINCH", 28), ("IO", 29), ("PWR", 30), ("SYS", 31),
]

/// Parses `SIGTERM`, `TERM`, `sigterm` or a number such as `15`. Returns nil for anything that
/// is not a signal this system can deliver.
public func parseSignal(_ text: String) -> Int32? {
    var bytes = Array(text.utf8)
    if bytes.isEmpty { return nil }
    if bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
        if bytes.count > 3 { return nil }
        var n: Int32 = 0
        for b in bytes { n = n * 10 + Int32(b - 48) }
        return n >= 1 && n <= cusher_sigrtmax() ? n : nil
    }
    // Case-insensitive over ASCII only.
    for i in 0..<bytes.count where bytes[i] >= 97 && bytes[i] <= 122 { bytes[i] -= 32 }
    if bytes.count > 3 && bytes[0] == 83 && bytes[1] == 73 && bytes[2] == 71 {  // "SIG"
        bytes.removeFirst(3)
    }
    for (name, number) in signalNames where Array(name.utf8) == bytes { return number }
    return nil
}

/// `SIGTERM` for 15; `SIG34` style for real-time and unknown numbers.
public func signalName(_ number: Int32) -> String {
    for (name, n) in signalNames where n == number { return "SIG" + name }
    return "SIG\(number)"
}
