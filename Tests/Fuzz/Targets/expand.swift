// Target `expand`: `$(VAR)` expansion with its size bound, against a plain reference: the
// kubelet's rules, every lookup a linear search for the last definition, nothing bounded.
//
// The input, split on NUL bytes: each part but the last is a definition NAME=VALUE, made in
// order as a container's env is (each value expanded with the variables before it); the last is
// a text expanded with them all, as a command or an argument is. The bound is small (4096
// bytes) so that inputs reach it: the bounded result must never pass it, must be nil exactly
// when the reference result is longer, and must equal the reference result otherwise. Once a
// definition is too long the decoder would stop with an error there: so does the harness.
import UsherCore

private let limit = 4096

/// The reference: the kubelet's expansion over bytes, lookups by a linear search from the end.
private func reference(_ text: [UInt8], _ defined: [([UInt8], [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < text.count {
        if text[i] == 36, i + 1 < text.count, text[i + 1] == 36 {
            out.append(36)
            i += 2
        } else if text[i] == 36, i + 1 < text.count, text[i + 1] == 40, let close = text[(i + 2)...].firstIndex(of: 41) {
            let name = Array(text[(i + 2)..<close])
            out += defined.last(where: { $0.0 == name })?.1 ?? Array(text[i...close])
            i = close + 1
        } else {
            out.append(text[i])
            i += 1
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = inputBytes(data, size).split(separator: 0, omittingEmptySubsequences: false)
    var variables = Variables()
    var defined: [([UInt8], [UInt8])] = []
    for (n, part) in parts.enumerated() {
        let isText = n == parts.count - 1
        let eq = isText ? part.startIndex : (part.firstIndex(of: 61) ?? part.endIndex)
        let name = Array(part[part.startIndex..<eq])
        let written = Array(isText ? part[...] : part[(eq < part.endIndex ? eq + 1 : eq)...])
        // What the decoder sees: the text as a String (invalid UTF-8 repaired), then its bytes.
        let text = String(decoding: written, as: UTF8.self)
        let expected = reference(Array(text.utf8), defined)
        let got = expandReferences(text, variables, limit: limit)
        let context = "part \(n): \(text.debugDescription)\nreference: \(expected.count) bytes"
        guard let got else {
            if expected.count <= limit { broken("expansion refused a result within the bound", context) }
            return 0  // the decoder stops here with a config error
        }
        let bytes = Array(got.utf8)
        if bytes.count > limit { broken("expansion passed its bound: \(bytes.count) bytes", context) }
        if bytes != expected { broken("expansion differs from the reference: \(got.debugDescription)", context) }
        if !isText {
            variables.define(name, bytes)
            defined.append((name, bytes))
        }
    }
    return 0
}
