/// Bytes from the operating system (argv, the environment, paths) as Swift Strings and back,
/// without changing a byte. Linux hands usher arbitrary bytes: a program at a Latin-1 path, an
/// argument that is not text, an environment value in another encoding. Swift's String holds
/// only valid Unicode and repairs anything else to U+FFFD, which would run a different program
/// or pass the app different arguments than the user gave (tini passes them through).
///
/// So every byte that is not part of valid UTF-8 is carried as one code point of a private-use
/// block, U+10FE80 + (byte - 0x80) (only bytes 0x80...0xFF can be invalid), and turned back into
/// that byte at exec. The block's own code points, should they appear literally in the input,
/// are carried the same way, byte by byte, so the mapping is exact both ways for every input.
/// Everything else is the ordinary String of the text, so options, names and comparisons work
/// as before. `printable` shows the carried bytes as `\xNN` wherever usher writes text.
public enum OSString {
    static let escapeBase: UInt32 = 0x10FE00

    /// The String that carries `bytes` (no NUL inside).
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var input = Array(bytes)[...]
        while let first = input.first {
            let n = validSequenceLength(input)
            if n > 0, !isEscape(input.prefix(n)) {
                out += input.prefix(n)
                input = input.dropFirst(n)
            } else {
                appendEscape(first, to: &out)
                input = input.dropFirst()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The String that carries a C string from the system.
    public static func decode(cString: UnsafePointer<CChar>) -> String {
        var length = 0
        while cString[length] != 0 { length += 1 }
        return cString.withMemoryRebound(to: UInt8.self, capacity: length) {
            decode(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// The bytes `text` carries, as the system should get them.
    public static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = Array(text.utf8)[...]
        while let first = bytes.first {
            if first == 0xF4, bytes.count >= 4, isEscape(bytes.prefix(4)) {
                out.append(escapedByte(bytes.prefix(4)))
                bytes = bytes.dropFirst(4)
            } else {
                out.append(first)
                bytes = bytes.dropFirst()
            }
        }
        return out
    }

    /// A copy for C (malloc'd, NUL-terminated; the caller frees it).
    static func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = encode(text)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (k, b) in bytes.enumerated() { p[k] = CChar(bitPattern: b) }
        p[bytes.count] = 0
        return p
    }

    /// `text` for a log line or a message: carried bytes as `\xNN`, and control characters
    /// (a newline in a program's path would otherwise start a forged log line) as `\n`, `\t`,
    /// `\r` or `\xNN`. `keepingLines`: for text of several lines (`usher check`), newlines stay.
    /// `controls: false`: only the carried bytes are shown as `\xNN` (for JSON, which escapes
    /// control characters itself).
    public static func printable(_ text: String, keepingLines: Bool = false, controls: Bool = true) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { ($0 < 32 || $0 == 127) && controls || $0 == 0xF4 }) else { return text }
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let first = bytes.first {
            if first == 0xF4, bytes.count >= 4, isEscape(bytes.prefix(4)) {
                appendEscaped(escapedByte(bytes.prefix(4)), to: &out)
                bytes = bytes.dropFirst(4)
                continue
            }
            switch first {
            case _ where !controls, 10 where keepingLines: out.append(first)
            case 0..<32, 127: appendEscaped(first, to: &out)
            default: out.append(first)
            }
            bytes = bytes.dropFirst()
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - UTF-8

    /// The length of the valid UTF-8 sequence at the start of `b` (RFC 3629: no overlong forms,
    /// no surrogates, nothing above U+10FFFF), or 0 when it does not start with one.
    static func validSequenceLength(_ b: ArraySlice<UInt8>) -> Int {
        let i = b.startIndex
        let c0 = b[i]
        func cont(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            b.count > k && b[i + k] >= low && b[i + k] <= high
        }
        switch c0 {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE, 0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    /// The UTF-8 of U+10FE80...U+10FEFF: F4 8F BA 80 ... F4 8F BB BF.
    @inline(never)  // size: shared
    private static func isEscape(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count == 4 else { return false }
        let i = s.startIndex
        return s[i] == 0xF4 && s[i + 1] == 0x8F && (s[i + 2] == 0xBA || s[i + 2] == 0xBB)
            && s[i + 3] >= 0x80 && s[i + 3] <= 0xBF
    }

    private static func escapedByte(_ s: ArraySlice<UInt8>) -> UInt8 {
        let i = s.startIndex
        // U+10FE80 + (byte - 0x80): the low 7 bits are (third & 1) << 6 | (fourth & 0x3F).
        return 0x80 | ((s[i + 2] & 1) << 6) | (s[i + 3] & 0x3F)
    }

    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        let low = byte & 0x7F  // U+10FE80 + low
        out += [0xF4, 0x8F, 0xBA | (low >> 6), 0x80 | (low & 0x3F)]
    }
}
