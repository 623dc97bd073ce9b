/// Parses a duration as Go and Kubernetes write them: `500ms`, `10s`, `1m30s`, `1.5h`, `0`.
/// A bare number is seconds. Units: ns, us (or µs), ms, s, m, h. Works over UTF-8 bytes on
/// purpose: Unicode-aware String calls would pull Swift's Unicode tables into the release binary.
public func parseDuration(_ text: String) -> Nanos? {
    let bytes = Array(text.utf8)
    if bytes.isEmpty { return nil }
    var total: Nanos = 0
    var i = 0
    var sawUnit = false
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    while i < bytes.count {
        // A number: integer digits, then optionally "." and fraction digits. Integer arithmetic
        // throughout, so values are exact and no libm is linked.
        var whole: Nanos = 0
        var fraction: Nanos = 0
        var fractionScale: Nanos = 1
        var digits = 0
        while i < bytes.count, isDigit(bytes[i]) {
            let (w, o1) = whole.multipliedReportingOverflow(by: 10)
            let (w2, o2) = w.addingReportingOverflow(Nanos(bytes[i] - 48))
            if o1 || o2 { return nil }
            whole = w2
            digits += 1
            i += 1
        }
        if i < bytes.count, bytes[i] == 46 {  // "."
            i += 1
            while i < bytes.count, isDigit(bytes[i]) {
                // Nine fraction digits are nanosecond precision for seconds; more are dropped.
                if fractionScale < 1_000_000_000 {
                    fraction = fraction * 10 + Nanos(bytes[i] - 48)
                    fractionScale *= 10
                }
                digits += 1
                i += 1
            }
        }
        if digits == 0 { return nil }
        // A unit: the run of bytes up to the next number.
        let unitStart = i
        while i < bytes.count && !isDigit(bytes[i]) && bytes[i] != 46 { i += 1 }
        let unit = bytes[unitStart..<i]
        let factor: Nanos
        if unit.isEmpty {
            // A bare number is seconds, but only on its own: "1m30" is a mistake, not 1m30s,
            // and so is "1..5".
            if sawUnit || i < bytes.count { return nil }
            factor = nanosPerSecond
        } else if let f = unitFactor(unit) {
            factor = f
            sawUnit = true
        } else {
            return nil
        }
        let (part, o1) = whole.multipliedReportingOverflow(by: factor)
        // fraction / fractionScale * factor, kept inside Int64: every factor is a power of ten
        // (or 60 or 3600 times 1e9) and fractionScale a power of ten up to 1e9, so the first
        // division is exact; otherwise fraction * factor stays below 1e15.
        let fractionPart = factor >= fractionScale
            ? fraction * (factor / fractionScale) : fraction * factor / fractionScale
        let (sum, o2) = total.addingReportingOverflow(part)
        let (sum2, o3) = sum.addingReportingOverflow(fractionPart)
        if o1 || o2 || o3 { return nil }
        total = sum2
    }
    return total
}

private func unitFactor(_ unit: ArraySlice<UInt8>) -> Nanos? {
    switch Array(unit) {
    case [110, 115]: return 1  // ns
    case [117, 115], [0xC2, 0xB5, 115], [0xCE, 0xBC, 115]: return 1000  // us, µs (micro sign or mu)
    case [109, 115]: return 1_000_000  // ms
    case [115]: return nanosPerSecond  // s
    case [109]: return 60 * nanosPerSecond  // m
    case [104]: return 3600 * nanosPerSecond  // h
    default: return nil
    }
}

/// Formats a duration for the log and the help text: `0s`, `250ms`, `1.5s`, `30s`, `1m30s`.
public func formatDuration(_ nanos: Nanos) -> String {
    if nanos < 0 { return "-" + formatDuration(-nanos) }
    if nanos < 1_000_000 && nanos != 0 { return "\(nanos / 1000)us" }
    let millis = nanos / 1_000_000
    if millis < 1000 { return "\(millis)ms" }
    if millis % 1000 == 0 {
        let s = millis / 1000
        if s >= 60 {
            let rest = s % 60
            let head = s >= 3600 ? "\(s / 3600)h" + (s % 3600 >= 60 ? "\((s % 3600) / 60)m" : "") : "\(s / 60)m"
            return rest == 0 ? head : head + "\(rest)s"
        }
        return "\(s)s"
    }
    return formatSeconds(nanos)
}

/// Seconds with three decimals, for measured times: `0.143s`, `12.000s`.
public func formatSeconds(_ nanos: Nanos) -> String {
    let millis = (nanos < 0 ? 0 : nanos) / 1_000_000
    let frac = millis % 1000
    let pad = frac < 10 ? "00" : (frac < 100 ? "0" : "")
    return "\(millis / 1000).\(pad)\(frac)s"
}

/// `instant + duration`, saturating instead of trapping: an instant past what `Nanos` holds is
/// `Nanos.max`, which means "never" (the timerfd takes it as a wake-up that does not come). A
/// grace period of 9223372036 s, or `--grace 2562047h` on a machine up for an hour, is valid
/// configuration: every instant computed from a configured duration goes through here.
public func later(_ instant: Nanos, by duration: Nanos) -> Nanos {
    let (sum, overflow) = instant.addingReportingOverflow(duration)
    return overflow ? (duration > 0 ? Nanos.max : Nanos.min) : sum
}
