/// String interpolation, out of line. In Embedded Swift at -Osize every `"\(a) text \(b)"` inlines
/// the standard library's literal and value appends at its call site: about 1.7 KB of machine
/// code for a message with three values, and usher builds hundreds of messages (the log, the
/// reports, every configuration error). Declared here, these shadow the standard library's
/// members for this module, so each interpolation compiles to a few calls instead: the same
/// text, about an eighth of the code.
extension DefaultStringInterpolation {
    @inline(never)  // size: shared
    mutating func appendLiteral(_ literal: String) { write(literal) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: String) { write(value) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: Int) { write(String(value)) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: Int32) { write(String(value)) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: Int64) { write(String(value)) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: UInt16) { write(String(value)) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: UInt32) { write(String(value)) }

    @inline(never)  // size: shared
    mutating func appendInterpolation(_ value: UInt64) { write(String(value)) }
}
