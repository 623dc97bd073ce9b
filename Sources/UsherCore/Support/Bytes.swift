// Byte and string helpers shared by the whole module: one non-generic copy of each, called
// from every layer (see each one for why it exists rather than the standard library's form).

/// Byte-wise string equality. `==` on String compares canonical equivalence, which links
/// Swift's Unicode normalization tables into the release binary; command-line words and names
/// are compared as the bytes the user typed.
@inline(never)
func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

/// `bytes` cut at each `separator`, as Collection.split cuts them: one non-generic copy of it,
/// called from the dozen places that split bytes, rather than a specialization inlined at each.
@inline(never)
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
@inline(never)
func joined(_ a: String, _ b: String, _ c: String) -> String { a + b + c }
