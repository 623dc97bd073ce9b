/// One node of a parsed YAML document, with where it starts in the file (1-based line and
/// column, from libyaml's start mark) so every configuration error can point at it.
///
/// A final class, not an enum tree: an alias is the same object as its anchored node, so a
/// document full of aliases costs no copies (the expanded size is capped while parsing instead).
final class YAMLNode {
    enum Style {
        /// Unquoted: resolved as Kubernetes' YAML does (`8080` is a number, `true` a boolean).
        case plain
        /// Single- or double-quoted, literal (`|`) or folded (`>`): always text.
        case quoted
    }

    struct Pair {
        var key: YAMLNode
        var value: YAMLNode
    }

    enum Content {
        /// The text, its style, and an explicit tag (`!!str` arrives as
        /// `tag:yaml.org,2002:str`), nil when there is none.
        case scalar(String, Style, tag: String?)
        case sequence([YAMLNode])
        /// In file order, duplicates included: the decoder reports them with their path.
        case mapping([Pair])
    }

    let content: Content
    let line: Int
    let column: Int
    /// Nodes in this subtree with every alias expanded: what a walk over it costs.
    let expandedSize: Int
    /// Bytes of scalar text in this subtree with every alias expanded: what reading it costs.
    let expandedBytes: Int
    /// An alias repeats this node. Its text is then never shown in a message: the anchor may be
    /// an env value, and an error about a field that reuses it must not print it.
    var aliased = false

    init(_ content: Content, line: Int, column: Int, expandedSize: Int, expandedBytes: Int) {
        self.content = content
        self.line = line
        self.column = column
        self.expandedSize = expandedSize
        self.expandedBytes = expandedBytes
    }

    /// What a value is, for messages: "a list", "a mapping", "the number 8080", ... Without
    /// the text ("a number", "a string") when `hidingText` (an env value: it may be a secret)
    /// or when an alias repeats the node.
    func describe(hidingText: Bool = false) -> String {
        switch content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(let text, _, _):
            let hide = hidingText || aliased
            switch resolvedScalar {
            case .null: return "null"
            case .bool: return hide ? "a boolean" : "the boolean " + text
            case .int, .float: return hide ? "a number" : "the number " + text
            case .string: return hide ? "a string" : "the string " + quoted(text)
            }
        }
    }

    /// The node's text for a message, quoted; `(an aliased value)` when an alias repeats it.
    @inline(never)  // size: shared
    var shown: String {
        guard case .scalar(let text, _, _) = content else { return describe() }
        return aliased ? "(an aliased value)" : quoted(text)
    }
}

/// A value echoed in a message: in double quotes, with quotes, backslashes and control characters
/// escaped so a message stays on one line, and cut short when long.
func quoted(_ text: String) -> String {
    var out: [UInt8] = [34]
    var count = 0
    for b in text.utf8 {
        if count == 60 {
            out += Array("...".utf8)
            break
        }
        count += 1
        switch b {
        case 34, 92: out += [92, b]
        case 0..<32, 127: appendEscaped(b, to: &out)
        default: out.append(b)
        }
    }
    out.append(34)
    return String(decoding: out, as: UTF8.self)
}
