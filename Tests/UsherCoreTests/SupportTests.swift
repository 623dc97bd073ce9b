import Testing
@testable import UsherCore

/// The module's shared byte rules (Support/): one decimal parser and one escape, which every
/// number read in usher's own syntax and every escaped byte go through.
@Suite struct SupportRules {
    @Test func plainDecimals() {
        #expect(plainDecimal("0", maxDigits: 3) == 0)
        #expect(plainDecimal("007", maxDigits: 3) == 7)
        #expect(plainDecimal("255", maxDigits: 3) == 255)
        #expect(plainDecimal("1000", maxDigits: 3) == nil, "more digits than allowed")
        #expect(plainDecimal("", maxDigits: 3) == nil)
        #expect(plainDecimal("-1", maxDigits: 3) == nil, "no sign")
        #expect(plainDecimal("+1", maxDigits: 3) == nil, "no sign")
        #expect(plainDecimal("1 ", maxDigits: 3) == nil, "no blank")
        #expect(plainDecimal("1_0", maxDigits: 3) == nil, "no underscore")
        #expect(plainDecimal("999999999999999999", maxDigits: 18) == 999_999_999_999_999_999)
        #expect(Int32(decimal: "123456789") == 123_456_789)
        #expect(Int32(decimal: "1234567890") == nil, "at most nine digits")
        #expect(Int32(decimal: "-") == nil)
    }

    @Test func escapes() {
        func escaped(_ b: UInt8, json: Bool = false) -> String {
            var out: [UInt8] = []
            appendEscaped(b, to: &out, json: json)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(escaped(10) == "\\n")
        #expect(escaped(13) == "\\r")
        #expect(escaped(9) == "\\t")
        #expect(escaped(0) == "\\x00")
        #expect(escaped(27) == "\\x1b")
        #expect(escaped(127) == "\\x7f")
        #expect(escaped(0xff) == "\\xff")
        #expect(escaped(27, json: true) == "\\u001b")
        #expect(escaped(10, json: true) == "\\n")
        // The three callers, each with its own choice of bytes.
        #expect(OSString.printable("a\u{1b}b\nc") == "a\\x1bb\\nc")
        #expect(escapeJSON("a\u{1b}\"\\\n") == "a\\u001b\\\"\\\\\\n")
        #expect(quoted("a\"\u{7f}\t") == "\"a\\\"\\x7f\\t\"")
    }
}
