import CYAML

/// Collections nested deeper than this are refused: no Pod spec needs a tenth of it, and the
/// limit keeps every later walk of the tree shallow.
let yamlMaxDepth = 64
/// Nodes per file, counting every alias as a copy of what it names: the guard against "billion
/// laughs" documents, whose aliases of aliases expand exponentially.
let yamlMaxNodes = 100_000
/// Anchors per document: each alias looks its anchor up among them.
let yamlMaxAnchors = 256
/// Bytes of scalar text per file, counting every alias as a copy of what it names: the node cap
/// alone let one large scalar be repeated (a 600 KB scalar aliased 90,000 times is 54 GB to
/// read). The decoder reads every string it is given at least once, so this bounds its work.
/// Four times the largest config file usher reads (1 MiB, `readWholeFile`): room to reuse an
/// anchored env list or container in every container of a large pod, far below what hurts.
let yamlMaxBytes = 4 << 20

/// A configuration error at a place in the file: `FILE:LINE:COLUMN: message`.
func configError(_ file: String, line: Int, column: Int, _ message: String) -> UsageError {
    UsageError("\(file):\(line):\(column): \(message)")
}

/// Parses every document of a YAML stream (JSON is YAML too) into node trees, one root per
/// document; a document with no content (`---` alone) is a null scalar. Uses libyaml's event API
/// and builds the tree with an explicit stack, so no input recurses.
///
/// Anchors and aliases are supported (an alias is the anchored node itself, shared). Merge keys
/// (`<<`) are not: they are refused wherever they appear, rather than half-supported.
func parseYAML(_ bytes: [UInt8], file: String) throws(UsageError) -> [YAMLNode] {
    // libyaml asserts on a null input pointer, which an empty array may give.
    if bytes.isEmpty { return [] }
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) != 0 else {
        throw configError(file, line: 1, column: 1, "cannot parse YAML: out of memory")
    }
    defer { yaml_parser_delete(&parser) }
    var builder = TreeBuilder(file: file)
    try bytes.withUnsafeBufferPointer { (input) throws(UsageError) in
        // The parser reads `input` lazily: it must stay valid until the last event, hence all
        // the parsing happens inside this closure.
        yaml_parser_set_input_string(&parser, input.baseAddress, input.count)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) != 0 else {
                throw syntaxError(parser, bytes, file: file)
            }
            let done: Bool
            do {
                defer { yaml_event_delete(&event) }
                done = try builder.handle(event)
            }
            if done { return }
        }
    }
    return builder.documents
}

private struct TreeBuilder {
    /// A collection whose end event has not come yet.
    struct Frame {
        var isMapping: Bool
        /// Children in order; for a mapping, keys and values alternate.
        var items: [YAMLNode] = []
        var line: Int
        var column: Int
        var anchor: [UInt8]?
        var expandedSize = 1
        var expandedBytes = 0
    }

    let file: String
    var documents: [YAMLNode] = []
    var stack: [Frame] = []
    var root: YAMLNode?
    /// Anchors of the current document (they are scoped to it), newest last: a name defined
    /// again names the new node. Searched linearly, which `yamlMaxAnchors` keeps cheap; a
    /// dictionary would link Swift's hashing into the release binary for no real file's sake.
    var anchorNames: [[UInt8]] = []
    var anchorNodes: [YAMLNode] = []
    var nodeCount = 0
    var byteCount = 0

    /// Takes one event; true at the end of the stream.
    mutating func handle(_ event: yaml_event_t) throws(UsageError) -> Bool {
        let line = event.start_mark.line + 1
        let column = event.start_mark.column + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            anchorNames.removeAll()
            anchorNodes.removeAll()
            root = nil
        case YAML_DOCUMENT_END_EVENT:
            documents.append(root ?? YAMLNode(.scalar("", .plain, tag: nil), line: line, column: column, expandedSize: 1, expandedBytes: 0))
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            let style: YAMLNode.Style = s.style == YAML_PLAIN_SCALAR_STYLE ? .plain : .quoted
            let tag = cString(s.tag).map { String(decoding: $0, as: UTF8.self) }
            try count(1, bytes: s.length, line: line, column: column)
            let node = YAMLNode(.scalar(text, style, tag: tag), line: line, column: column, expandedSize: 1, expandedBytes: s.length)
            try add(node, anchor: cString(s.anchor))
        case YAML_ALIAS_EVENT:
            let name = cString(event.data.alias.anchor) ?? []
            guard let index = anchorNames.lastIndex(where: { $0 == name }) else {
                let open = stack.contains { $0.anchor.map { $0 == name } ?? false }
                let why = open ? "refers to a node that contains it" : "refers to no anchor defined before it"
                throw configError(file, line: line, column: column, "alias *\(String(decoding: name, as: UTF8.self)) \(why)")
            }
            let target = anchorNodes[index]
            target.aliased = true
            try count(target.expandedSize, bytes: target.expandedBytes, line: line, column: column)
            try add(target, anchor: nil)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard stack.count < yamlMaxDepth else {
                throw configError(file, line: line, column: column, "YAML nesting deeper than \(yamlMaxDepth) levels")
            }
            try count(1, bytes: 0, line: line, column: column)
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
            stack.append(Frame(isMapping: isMapping, line: line, column: column, anchor: cString(anchor)))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { break }  // libyaml pairs them; never taken
            let content: YAMLNode.Content
            if frame.isMapping {
                var pairs: [YAMLNode.Pair] = []
                var i = 0
                while i + 1 < frame.items.count {
                    pairs.append(YAMLNode.Pair(key: frame.items[i], value: frame.items[i + 1]))
                    i += 2
                }
                content = .mapping(pairs)
            } else {
                content = .sequence(frame.items)
            }
            let node = YAMLNode(content, line: frame.line, column: frame.column, expandedSize: frame.expandedSize,
                                expandedBytes: frame.expandedBytes)
            try add(node, anchor: frame.anchor)
        default:
            break  // stream start, and libyaml's "no event"
        }
        return false
    }

    private mutating func count(_ n: Int, bytes: Int, line: Int, column: Int) throws(UsageError) {
        nodeCount += n
        byteCount += bytes
        if nodeCount > yamlMaxNodes {
            throw configError(file, line: line, column: column,
                              "the file has more than \(yamlMaxNodes) YAML nodes (counting what each alias repeats)")
        }
        if byteCount > yamlMaxBytes {
            throw configError(file, line: line, column: column,
                              "the file has more than \(yamlMaxBytes >> 20) MiB of YAML text (counting what each alias repeats)")
        }
    }

    private mutating func add(_ node: YAMLNode, anchor: [UInt8]?) throws(UsageError) {
        if let anchor {
            guard anchorNames.count < yamlMaxAnchors else {
                throw configError(file, line: node.line, column: node.column, "more than \(yamlMaxAnchors) YAML anchors in one document")
            }
            anchorNames.append(anchor)
            anchorNodes.append(node)
        }
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        if stack[top].isMapping, stack[top].items.count % 2 == 0,
           case .scalar(let key, .plain, nil) = node.content, same(key, "<<")
        {
            throw configError(file, line: node.line, column: node.column,
                              "YAML merge keys (<<) are not supported by usher; write the fields out")
        }
        stack[top].items.append(node)
        // Cannot overflow: every size is bounded by nodeCount and byteCount, which are capped.
        stack[top].expandedSize += node.expandedSize
        stack[top].expandedBytes += node.expandedBytes
    }
}

/// The bytes of a NUL-terminated C string, nil for a null pointer.
private func cString(_ p: UnsafePointer<UInt8>?) -> [UInt8]? {
    guard let p else { return nil }
    var out: [UInt8] = []
    var i = 0
    while p[i] != 0 {
        out.append(p[i])
        i += 1
    }
    return out
}

private func cString(_ p: UnsafeMutablePointer<UInt8>?) -> [UInt8]? { cString(UnsafePointer(p)) }

/// `FILE:L:C: YAML syntax error: <problem> (<context>)` from libyaml's report.
private func syntaxError(_ parser: yaml_parser_t, _ bytes: [UInt8], file: String) -> UsageError {
    let problem = parser.problem.map { String(cString: $0) } ?? "out of memory"
    var message = "YAML syntax error: \(problem)"
    if let context = parser.context { message += " (\(String(cString: context)))" }
    var line = parser.problem_mark.line + 1
    var column = parser.problem_mark.column + 1
    if parser.error == YAML_READER_ERROR {
        // The reader (encoding errors) reports a byte offset, not a mark: count to it.
        line = 1
        column = 1
        for b in bytes.prefix(parser.problem_offset) {
            if b == 10 {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {  // a character starts here, not a continuation byte
                column += 1
            }
        }
    }
    return configError(file, line: line, column: column, message)
}
