// Target `words`: splitWords, the POSIX-shell-like splitting of --sidecar commands. Beyond not
// crashing: the words it returns, quoted back ('...' with ' written as '\''), split into the
// same words again; an input without quotes or backslashes splits on blanks alone.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    let words: [String]
    do {
        words = try splitWords(text)
    } catch {
        if error.message.isEmpty { broken("empty word-splitting message", text.debugDescription) }
        return 0
    }
    var bytes: [UInt8] = []
    for word in words {
        bytes.append(39)
        for c in word.utf8 {
            if c == 39 { bytes += Array("'\\''".utf8) } else { bytes.append(c) }
        }
        bytes += [39, 32]
    }
    let quoted = String(decoding: bytes, as: UTF8.self)
    guard let again = try? splitWords(quoted), again == words else {
        broken("quoted words do not split back", "input: \(text.debugDescription)\nwords: \(words)\nquoted: \(quoted.debugDescription)")
    }
    if !text.utf8.contains(where: { $0 == 39 || $0 == 34 || $0 == 92 }) {
        let plain = text.utf8.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 10 })
            .map { String(decoding: $0, as: UTF8.self) }
        if plain != words { broken("unquoted input did not split on blanks", "input: \(text.debugDescription)\nwords: \(words)") }
    }
    return 0
}
