/// What a scalar means, resolved as Kubernetes resolves it: its YAML-to-JSON step (go-yaml v2,
/// YAML 1.1 flavoured) turns an unquoted `8080` into a number and `yes` into a boolean before
/// the API types see them, which is why `args: [--port, 8080]` is rejected there. usher resolves
/// the same way so that a file it accepts is one `kubectl apply` accepts too.
enum ResolvedScalar: Equatable {
    case null
    case bool(Bool)
    /// An integer as Go's `strconv.ParseInt(text, 0, 64)` reads it (`10`, `-3`, `0x1F`, `0o17`,
    /// `017`, `0b101`, `1_000`); nil when it does not fit in 64 bits.
    case int(Int64?)
    case float
    case string
}

extension YAMLNode {
    /// `.string` for collections too: callers look at `content` first.
    var resolvedScalar: ResolvedScalar {
        guard case .scalar(let text, let style, let tag) = content else { return .string }
        if let tag {
            // `!!str 8080` and the non-specific `!` are text; `!!int "30"` is the number 30.
            // Other tags (custom ones) change nothing here.
            let core = Array("tag:yaml.org,2002:".utf8)
            let bytes = Array(tag.utf8)
            if same(tag, "!") { return .string }
            if bytes.starts(with: core) {
                let name = String(decoding: bytes[core.count...], as: UTF8.self)
                if same(name, "str") { return .string }
                if same(name, "int") || same(name, "float") || same(name, "bool") || same(name, "null") {
                    return resolvePlain(Array(text.utf8))
                }
            }
        }
        return style == .plain ? resolvePlain(Array(text.utf8)) : .string
    }
}

/// go-yaml v2's resolution table for plain scalars.
func resolvePlain(_ b: [UInt8]) -> ResolvedScalar {
    func oneOf(_ words: [String]) -> Bool { words.contains { $0.utf8.elementsEqual(b) } }
    if b.isEmpty || oneOf(["~", "null", "Null", "NULL"]) { return .null }
    if oneOf(["true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"]) {
        return .bool(true)
    }
    if oneOf(["false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF"]) {
        return .bool(false)
    }
    if let first = b.first, first == 43 || first == 45 || first == 46 || isDigit(first) {
        if let value = parseGoInt(b) { return .int(value) }
        if looksLikeInt(b) { return .int(nil) }
        if isFloat(b) { return .float }
    }
    if oneOf([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
              ".nan", ".NaN", ".NAN"]) {
        return .float
    }
    return .string
}

private func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

/// Digit value in base 16 or less, nil for anything else.
private func digitValue(_ b: UInt8) -> Int64? {
    if isDigit(b) { return Int64(b - 48) }
    if b >= 97 && b <= 102 { return Int64(b - 87) }
    if b >= 65 && b <= 70 { return Int64(b - 55) }
    return nil
}

/// Sign, base prefix and digits as Go's base-0 ParseInt takes them; `_` only between digits or
/// after a prefix, as Go allows it.
private func splitInt(_ b: [UInt8]) -> (negative: Bool, base: Int64, digits: ArraySlice<UInt8>)? {
    var i = 0
    var negative = false
    if i < b.count, b[i] == 43 || b[i] == 45 {
        negative = b[i] == 45
        i += 1
    }
    var base: Int64 = 10
    var prefixed = false
    if i + 1 < b.count, b[i] == 48 {
        switch b[i + 1] | 0x20 {  // lower-cased
        case 120: base = 16; prefixed = true  // 0x
        case 111: base = 8; prefixed = true  // 0o
        case 98: base = 2; prefixed = true  // 0b
        default: if isDigit(b[i + 1]) || b[i + 1] == 95 { base = 8 }  // 017: octal
        }
    }
    if prefixed { i += 2 }
    let digits = b[i...]
    guard !digits.isEmpty else { return nil }
    // Underscores: each one follows a digit (or the prefix) and precedes a digit.
    var previousWasDigit = prefixed
    for d in digits {
        if d == 95 {
            guard previousWasDigit else { return nil }
            previousWasDigit = false
        } else {
            guard let v = digitValue(d), v < base else { return nil }
            previousWasDigit = true
        }
    }
    guard previousWasDigit else { return nil }
    return (negative, base, digits)
}

private func looksLikeInt(_ b: [UInt8]) -> Bool { splitInt(b) != nil }

/// The value, or nil when the text is not an integer or does not fit in Int64.
func parseGoInt(_ b: [UInt8]) -> Int64? {
    guard let (negative, base, digits) = splitInt(b) else { return nil }
    // Accumulate as a negative number: Int64.min has no positive counterpart.
    var value: Int64 = 0
    for d in digits where d != 95 {
        guard let v = digitValue(d) else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: base)
        let (s, o2) = m.subtractingReportingOverflow(v)
        if o1 || o2 { return nil }
        value = s
    }
    if negative { return value }
    let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
    return overflow ? nil : positive
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
private func isFloat(_ b: [UInt8]) -> Bool {
    var i = 0
    func digits() -> Int {
        let start = i
        while i < b.count, isDigit(b[i]) { i += 1 }
        return i - start
    }
    if i < b.count, b[i] == 43 || b[i] == 45 { i += 1 }
    if i < b.count, b[i] == 46 {
        i += 1
        if digits() == 0 { return false }
    } else {
        if digits() == 0 { return false }
        if i < b.count, b[i] == 46 {
            i += 1
            _ = digits()
        }
    }
    if i < b.count, b[i] == 101 || b[i] == 69 {
        i += 1
        if i < b.count, b[i] == 43 || b[i] == 45 { i += 1 }
        if digits() == 0 { return false }
    }
    return i == b.count
}
