// The module's one decimal rule, for the numbers usher reads in its own plain syntax: counts,
// ports, IPv4 octets, exit codes, oom_score_adj, signal numbers, ids in /etc/passwd, the status
// file's pids, an HTTP status code, /proc and cgroup counters. Two number syntaxes are other
// rules and keep their own parsers: YAML's integers (parseGoInt: sign, 0x/0o/0b, underscores,
// as go-yaml reads them) and durations (parseDuration: fractions, units, overflow checks).

/// The value of `bytes` when they are 1 to `maxDigits` ASCII digits and nothing else (no sign,
/// no blank, no underscore), else nil. `maxDigits` is at most 18, so the value always fits; the
/// caller checks its own range. Out of line: one copy for its dozen callers (size).
@inline(never)  // size: shared
func plainDecimal(_ bytes: ArraySlice<UInt8>, maxDigits: Int) -> Int? {
    guard !bytes.isEmpty, bytes.count <= maxDigits else { return nil }
    var n = 0
    for b in bytes {
        guard b >= 48 && b <= 57 else { return nil }
        n = n &* 10 &+ Int(b &- 48)
    }
    return n
}

/// `plainDecimal` of a string's UTF-8.
func plainDecimal(_ text: String, maxDigits: Int) -> Int? {
    plainDecimal(Array(text.utf8)[...], maxDigits: maxDigits)
}

extension Int32 {
    /// A plain non-negative decimal of at most nine digits, nil for anything else (`-` for no
    /// pid in the status file).
    init?(decimal text: String) {
        guard let n = plainDecimal(text, maxDigits: 9) else { return nil }
        self = Int32(n)
    }
}
