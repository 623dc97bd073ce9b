/// `--prefix`: each line a child writes is labelled with the child's name, as foreman and
/// overmind do:  `proxy  | listening on :8080`. This is the pure part: it cuts a stream's bytes
/// into lines and labels them; the driver owns the pipes. Lines keep their order within a stream,
/// and nothing is dropped: a last line without a newline is written when the stream ends, and a
/// line longer than `maxLine` is written in pieces rather than held without bound.
public struct LinePrefixer {
    /// The label, already padded (and coloured), written before each line.
    public let label: [UInt8]
    public static let maxLine = 64 * 1024
    private var pending: [UInt8] = []

    /// `name` padded to `width` so that the columns line up; with `colour` (an ANSI colour
    /// number such as 36), the label is coloured, for a terminal.
    public init(name: String, width: Int, colour: Int? = nil) {
        var text = Array(name.utf8)
        if text.count < width { text += [UInt8](repeating: 32, count: width - text.count) }
        text += Array(" | ".utf8)
        if let colour { text = Array("\u{1B}[\(colour)m".utf8) + text + Array("\u{1B}[0m".utf8) }
        label = text
    }

    /// Takes bytes read from the stream; returns the labelled complete lines, ready to write.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var start = bytes.startIndex
        for i in bytes.indices where bytes[i] == 10 {
            out += label
            out += pending
            out += bytes[start...i]
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        pending += bytes[start...]
        while pending.count >= LinePrefixer.maxLine {
            out += label
            out += pending[..<LinePrefixer.maxLine]
            out.append(10)
            pending.removeFirst(LinePrefixer.maxLine)
        }
        return out
    }

    /// The stream ended: the last line, if it had no newline, with one added.
    public mutating func finish() -> [UInt8] {
        guard !pending.isEmpty else { return [] }
        let out = label + pending + [10]
        pending.removeAll()
        return out
    }

    /// Colours for the labels, one per process in start order, cycling.
    public static let colours = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91]
}
