// Byte and string helpers shared by the whole module: one non-generic copy of each, called
// from every layer (see each one for why it exists rather than the standard library's form).
//
// `@inline(never)` in this module: the release build (-Osize, whole module, LTO) inlines
// freely, and some functions are kept out of line on purpose. Each such site says why with one
// of these tags, so that nobody takes it for a leftover or removes it without measuring:
//   `// size: shared`    one copy for its many callers, where each would get its own inlined one.
//   `// size: frame`     a large step kept as its own function (most are called once): its error
//                        exits release only what it holds, not every local of its caller (the
//                        cleanup code of each throw is what grows); or its body would swell the
//                        caller's. The decoders and the command line's stages.
//   `// size: measured`  inlined at its one or two call sites, it measured larger (the
//                        optimizer's estimate is wrong for it); the comment there says what.
//   `// cold`            an error or rare path (an unknown field's suggestion, an HTTP redirect),
//                        kept out of the code of the common one.
//   `// measurement`     a stable frame that a benchmark or test measures.
// Measure (`make static`, and the arm64 release binary) before removing one.

/// Byte-wise string equality. `==` on String compares canonical equivalence, which links
/// Swift's Unicode normalization tables into the release binary; command-line words and names
/// are compared as the bytes the user typed.
@inline(never)  // size: shared
func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

/// `bytes` cut at each `separator`, as Collection.split cuts them: one non-generic copy of it,
/// called from the dozen places that split bytes, rather than a specialization inlined at each.
@inline(never)  // size: shared
func splitBytes(_ bytes: ArraySlice<UInt8>, _ separator: UInt8, maxSplits: Int = Int.max, omittingEmpty: Bool = true) -> [ArraySlice<UInt8>] {
    bytes.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: omittingEmpty)
}

/// A constant list of names written as one literal, the names separated by spaces or newlines
/// (signal names, option tables, ignored Pod-spec fields; not a shell's words: see ShellWords.swift). With
/// the SIL inliner setting of SIZE_FLAGS, a global array literal of strings is built element by
/// element by code at its first use (a kilobyte for a list of thirty names); from one literal
/// the list's initializer is about 250 bytes (the compiler expands this loop in each).
func nameList(_ text: StaticString) -> [String] {
    let bytes = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    var out: [String] = []
    var start = 0
    for i in 0...bytes.count where i == bytes.count || bytes[i] == 32 || bytes[i] == 10 {
        if i > start { out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)) }
        start = i + 1
    }
    return out
}

/// The last path component, used as the main process's name in the log.
public func baseName(_ path: String) -> String {
    let bytes = Array(path.utf8)
    guard let slash = bytes.lastIndex(of: 47) else { return path }
    let tail = bytes[(slash + 1)...]
    return tail.isEmpty ? path : String(decoding: tail, as: UTF8.self)
}

/// `a + b + c`: one copy of the concatenation, called where env entries, their files' paths
/// and their messages are put together (`+` inlined at each of them made 0.5 kB more).
@inline(never)  // size: shared
func joined(_ a: String, _ b: String, _ c: String) -> String { a + b + c }
