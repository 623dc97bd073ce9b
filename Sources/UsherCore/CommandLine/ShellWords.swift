/// Splits a command line into words as a POSIX shell would split it, without running a shell:
/// blanks separate words; 'single quotes' keep everything literally; "double quotes" keep
/// everything but let a backslash escape $ ` " \ and newline; an unquoted backslash keeps the
/// next character (and a backslash-newline pair disappears). No expansion of any kind happens:
/// `$HOME` stays `$HOME`, `*` stays `*`.
public enum WordSplitError: Error, Equatable {
    case unterminatedSingleQuote
    case unterminatedDoubleQuote
    case trailingBackslash

    public var message: String {
        switch self {
        case .unterminatedSingleQuote: return "unterminated single quote"
        case .unterminatedDoubleQuote: return "unterminated double quote"
        case .trailingBackslash: return "backslash at the end"
        }
    }
}

public func splitWords(_ text: String) throws(WordSplitError) -> [String] {
    let bytes = Array(text.utf8)
    var words: [String] = []
    var current: [UInt8] = []
    var inWord = false
    var i = 0
    func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 }
    while i < bytes.count {
        let b = bytes[i]
        if isBlank(b) {
            if inWord {
                words.append(String(decoding: current, as: UTF8.self))
                current.removeAll()
                inWord = false
            }
            i += 1
            continue
        }
        if b == 92 && i + 1 < bytes.count && bytes[i + 1] == 10 {  // line continuation: nothing
            i += 2
            continue
        }
        inWord = true
        switch b {
        case 39:  // '
            guard let close = bytes[(i + 1)...].firstIndex(of: 39) else {
                throw .unterminatedSingleQuote
            }
            current.append(contentsOf: bytes[(i + 1)..<close])
            i = close + 1
        case 34:  // "
            i += 1
            var closed = false
            while i < bytes.count {
                let c = bytes[i]
                if c == 34 {
                    closed = true
                    i += 1
                    break
                }
                if c == 92 && i + 1 < bytes.count {  // backslash
                    let n = bytes[i + 1]
                    if n == 36 || n == 96 || n == 34 || n == 92 {  // $ ` " \
                        current.append(n)
                        i += 2
                        continue
                    }
                    if n == 10 {  // line continuation
                        i += 2
                        continue
                    }
                }
                current.append(c)
                i += 1
            }
            if !closed { throw .unterminatedDoubleQuote }
        case 92:  // backslash
            guard i + 1 < bytes.count else { throw .trailingBackslash }
            current.append(bytes[i + 1])
            i += 2
        default:
            current.append(b)
            i += 1
        }
    }
    if inWord { words.append(String(decoding: current, as: UTF8.self)) }
    return words
}
