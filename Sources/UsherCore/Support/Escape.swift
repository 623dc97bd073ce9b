// The module's one escape rule for a byte that cannot be shown as it is (a control character in
// a log line or a message, a byte that is not UTF-8): `\n`, `\r`, `\t`, else `\xNN`; JSON, which
// has no `\x`, takes `\u00NN` for a control character. Which bytes need it is each caller's
// rule: OSString.printable (log lines, messages), escapeJSON (the JSON log and reports) and
// quoted (a YAML value echoed in an error).

/// Appends the escape of `byte` to `out`. `json`: `\u00NN` instead of `\xNN` (for bytes below
/// 32 only: JSON has no escape for the others). Out of line: one copy for its three callers (size).
@inline(never)  // size: shared
func appendEscaped(_ byte: UInt8, to out: inout [UInt8], json: Bool = false) {
    switch byte {
    case 10: out += [92, 110]  // \n
    case 13: out += [92, 114]  // \r
    case 9: out += [92, 116]  // \t
    default:
        out += json ? [92, 117, 48, 48] : [92, 120]  // \u00 or \x
        out += [hexDigit(byte >> 4), hexDigit(byte & 15)]
    }
}

/// The lower-case hex digit of `n` (0 to 15).
func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 87 + n }
