// Typed reads from the YAML node tree, with errors that point into the file: every message is
// `FILE:LINE:COLUMN: <path>: <what is wrong>`, the path as Kubernetes writes it
// (`spec.containers[0].env[1].value`).
//
// Size matters here: the release binary has a hard size limit, and in Embedded Swift every string
// interpolation at a call site is code. So the decoders ask `Fields` for typed values by field
// name, and the messages are assembled in the few non-inlined functions below.

/// The fields of one mapping, checked against what is valid at its place: `used` fields can be
/// read; `ignored` ones are accepted unread and not type-checked (they mean nothing inside one
/// container); any other field is an error with a suggestion, unless `open` (a workload's own
/// spec: replicas, selector, ... are none of usher's business). Duplicate fields are errors.
/// A field whose value is null counts as absent, as in Kubernetes. Under `env`, `hidesValues`:
/// no message shows a value there, since env values may be secrets.
/// A final class rather than a struct: the decoders pass `Fields` around and keep them in
/// arrays, and a struct of six references is retained, released and destroyed field by field at
/// every copy and on every error path (kilobytes of code in the release binary).
final class Fields {
    let file: String
    let node: YAMLNode
    let path: String
    let hidesValues: Bool
    private let names: [String]
    private let pairs: [YAMLNode.Pair?]

    private init(file: String, node: YAMLNode, path: String, hidesValues: Bool, names: [String], pairs: [YAMLNode.Pair?]) {
        self.file = file
        self.node = node
        self.path = path
        self.hidesValues = hidesValues
        self.names = names
        self.pairs = pairs
    }

    /// `place` names the mapping in messages when its path would not (the top of a document).
    /// A convenience init: every check comes before the object exists, so an error never leaves
    /// a partly initialized instance to free (the arm64 release binary trapped freeing one).
    convenience init(
        _ node: YAMLNode, file: String, path: String, place: String? = nil,
        used: [String], ignored: [String] = [], open: Bool = false, hidingValues: Bool = false
    ) throws(UsageError) {
        guard case .mapping(let list) = node.content else {
            throw typeError(file, node, path, expected: "a mapping", hiding: hidingValues)
        }
        let known = used + ignored
        let place = place ?? path
        var found = [YAMLNode.Pair?](repeating: nil, count: known.count)
        for pair in list {
            guard case .scalar(let key, _, _) = pair.key.content else {
                throw locatedError(file, pair.key, place, "expected a field name, got " + pair.key.describe(hidingText: hidingValues))
            }
            guard let index = known.firstIndex(where: { same($0, key) }) else {
                if open { continue }
                throw unknownField(file, pair.key, key, in: place, known: known)
            }
            if let first = found[index] {
                throw configError(file, line: pair.key.line, column: pair.key.column,
                                  "duplicate field " + pair.key.shown + " in " + place + " (first at line \(first.key.line))")
            }
            found[index] = pair
        }
        self.init(file: file, node: node, path: path, hidesValues: hidingValues, names: used,
                  pairs: Array(found.prefix(used.count)))
    }

    @inline(never)  // size: shared
    private func pair(_ name: String) -> YAMLNode.Pair? {
        guard let i = names.firstIndex(where: { same($0, name) }), let pair = pairs[i] else { return nil }
        if case .scalar = pair.value.content, pair.value.resolvedScalar == .null { return nil }
        return pair
    }

    /// The value, nil when the field is absent or null.
    @inline(never)  // size: shared
    subscript(_ name: String) -> YAMLNode? { pair(name)?.value }

    /// The key node, for errors about the field itself rather than its value.
    @inline(never)  // size: shared
    func key(_ name: String) -> YAMLNode? { pair(name)?.key }

    /// The path of a field of this mapping.
    @inline(never)  // size: shared
    func path(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    /// `<path of field>: message` at `node`.
    @inline(never)  // size: shared
    func error(_ node: YAMLNode, _ field: String, _ message: String) -> UsageError {
        locatedError(file, node, path(field), message)
    }

    @inline(never)  // size: shared
    func required(_ name: String, why: String = "") throws(UsageError) -> YAMLNode {
        guard let value = self[name] else {
            throw configError(file, line: node.line, column: node.column, path(name) + " is required" + why)
        }
        return value
    }

    @inline(never)  // size: shared
    func string(_ name: String) throws(UsageError) -> String? {
        guard let value = self[name] else { return nil }
        return try readString(file, value, path(name), hiding: hidesValues)
    }

    /// An integer from `min` to `max`; Kubernetes' int32 fields are the default range.
    @inline(never)  // size: shared
    func integer(_ name: String, min: Int64, max: Int64 = Int64(Int32.max)) throws(UsageError) -> Int64? {
        guard let value = self[name] else { return nil }
        return try readInteger(file, value, path(name), min: min, max: max, hiding: hidesValues)
    }

    @inline(never)  // size: shared
    func bool(_ name: String) throws(UsageError) -> Bool? {
        guard let value = self[name] else { return nil }
        guard case .scalar = value.content, case .bool(let b) = value.resolvedScalar else {
            throw typeError(file, value, path(name), expected: "true or false", hiding: hidesValues)
        }
        return b
    }

    /// The items of a list; `what` names them for the message ("a list of containers").
    @inline(never)  // size: shared
    func items(_ name: String, of what: String) throws(UsageError) -> [YAMLNode]? {
        guard let value = self[name] else { return nil }
        guard case .sequence(let items) = value.content else {
            throw typeError(file, value, path(name), expected: "a list of " + what, hiding: hidesValues)
        }
        return items
    }

    @inline(never)  // size: shared
    func strings(_ name: String) throws(UsageError) -> [String]? {
        guard let items = try items(name, of: "strings") else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() { out.append(try readString(file, item, indexed(path(name), i), hiding: hidesValues)) }
        return out
    }

    /// A command (`command`, `exec.command`): a non-empty list of strings, the program first.
    @inline(never)  // size: shared
    func command(_ name: String) throws(UsageError) -> [String]? {
        guard let argv = try strings(name) else { return nil }
        guard let program = argv.first, !program.isEmpty else {
            throw error(self[name] ?? node, name, "must name a program")
        }
        return argv
    }

    /// A field whose value is a mapping, checked like this one.
    @inline(never)  // size: shared
    func mapping(_ name: String, used: [String], ignored: [String] = [], open: Bool = false) throws(UsageError) -> Fields? {
        guard let value = self[name] else { return nil }
        return try Fields(value, file: file, path: path(name), used: used, ignored: ignored, open: open, hidingValues: hidesValues)
    }

    /// A field whose value is a list of mappings, each checked like this one. `hidingValues`:
    /// the list holds env values, which no message may show (nor the list itself, nor an item).
    @inline(never)  // size: shared
    func mappings(
        _ name: String, of what: String, used: [String], ignored: [String] = [], open: Bool = false,
        hidingValues: Bool = false
    ) throws(UsageError) -> [Fields]? {
        let hiding = hidingValues || hidesValues
        guard let value = self[name] else { return nil }
        guard case .sequence(let items) = value.content else {
            throw typeError(file, value, path(name), expected: "a list of " + what, hiding: hiding)
        }
        var out: [Fields] = []
        for (i, item) in items.enumerated() {
            out.append(try Fields(item, file: file, path: indexed(path(name), i), used: used, ignored: ignored, open: open,
                                  hidingValues: hiding))
        }
        return out
    }
}

@inline(never)  // size: shared
func indexed(_ path: String, _ index: Int) -> String { path + "[" + String(index) + "]" }

/// `FILE:L:C: path: message`.
@inline(never)  // size: shared
func locatedError(_ file: String, _ node: YAMLNode, _ path: String, _ message: String) -> UsageError {
    configError(file, line: node.line, column: node.column, path + ": " + message)
}

/// `path: expected <expected>, got <what node is>`, with a hint when quoting would fix it.
/// `hiding`: the node may be an env value, whose text no message shows.
@inline(never)  // size: shared
func typeError(_ file: String, _ node: YAMLNode, _ path: String, expected: String, hiding: Bool = false) -> UsageError {
    var message = "expected " + expected + ", got " + node.describe(hidingText: hiding)
    if expected.utf8.starts(with: "a string".utf8), case .scalar = node.content {
        switch node.resolvedScalar {
        case .bool, .int, .float: message += hiding || node.aliased ? " (quote it)" : " (quote it: " + node.shown + ")"
        default: break
        }
    }
    return locatedError(file, node, path, message)
}

@inline(never)  // size: shared
private func unknownField(_ file: String, _ key: YAMLNode, _ name: String, in place: String, known: [String]) -> UsageError {
    var message = "unknown field " + key.shown + " in " + place
    if let guess = suggestion(for: name, among: known) { message += " (did you mean " + quoted(guess) + "?)" }
    return configError(file, line: key.line, column: key.column, message)
}

@inline(never)  // size: shared
func readString(_ file: String, _ node: YAMLNode, _ path: String, hiding: Bool = false) throws(UsageError) -> String {
    guard case .scalar(let text, _, _) = node.content, node.resolvedScalar == .string else {
        throw typeError(file, node, path, expected: "a string", hiding: hiding)
    }
    // Strings end up in argv, the environment and HTTP requests, all NUL-terminated.
    if text.utf8.contains(0) { throw locatedError(file, node, path, "must not contain a NUL character") }
    return text
}

@inline(never)  // size: shared
func readInteger(_ file: String, _ node: YAMLNode, _ path: String, min: Int64, max: Int64, hiding: Bool = false) throws(UsageError) -> Int64 {
    guard case .scalar(let text, _, _) = node.content, case .int(let value) = node.resolvedScalar else {
        throw typeError(file, node, path, expected: "an integer", hiding: hiding)
    }
    let got = hiding || node.aliased ? "" : ", got " + text
    guard let value, value <= max else { throw locatedError(file, node, path, "must be at most \(max)" + got) }
    guard value >= min else { throw locatedError(file, node, path, "must be at least \(min)" + got) }
    return value
}

/// The known name closest to a misspelt one: at most 2 edits (fewer than the word is long), or
/// up to a third of its length for long names; nil when none is that close.
@inline(never)  // cold
func suggestion(for word: String, among names: [String]) -> String? {
    let w = Array(word.utf8)
    guard w.count <= 64 else { return nil }  // the distance costs |w| * |name|
    var best: String?
    var bestDistance = Int.max
    for name in names {
        let d = editDistance(w, Array(name.utf8))
        if (d <= 2 && d < w.count) || d * 3 <= w.count, d < bestDistance {
            best = name
            bestDistance = d
        }
    }
    return best
}

/// Levenshtein distance over bytes, two rows at a time.
@inline(never)  // cold
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty || b.isEmpty { return a.count + b.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
