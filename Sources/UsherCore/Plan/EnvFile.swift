/// Environment variables read from files when a container starts: Kubernetes'
/// `valueFrom.fileKeyRef` (KEP-3721) and the command line's `--env-file`. The file is read at
/// each start (an init container may write it), and what it says never reaches any output.

/// Where variables come from: one key of an env file (`fileKeyRef`), or every key of one
/// (`--env-file`).
public struct EnvFileRef: Equatable {
    /// The file, absolute (a `fileKeyRef` resolved through the container's volumeMounts; an
    /// `--env-file` relative to the directory usher was started in).
    public var path: String
    /// The directory no link may lead out of while the file is opened: the volume's mount for a
    /// `fileKeyRef`; nil for an `--env-file`, whose own directory is that (see ContainerFiles).
    public var root: String?
    /// The variable set, and the key read: nil for a whole file, whose keys are the names.
    public var name: String?
    public var key: String?
    /// A missing file or key leaves the variable unset instead of stopping the start.
    public var optional: Bool
    /// How many of the container's `env` entries come before it: later entries win.
    public var position: Int

    public init(path: String, root: String? = nil, name: String? = nil, key: String? = nil, optional: Bool = false, position: Int = 0) {
        self.path = path
        self.root = root
        self.name = name
        self.key = key
        self.optional = optional
        self.position = position
    }
}

/// The most of an env file usher reads.
let maxEnvFileBytes = 64 * 1024

/// Why an env file could not be used; never holds a value.
public struct EnvFileProblem: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The entries of an env file, `KEY=VALUE` a line: blank lines and lines starting with `#`
/// (after blanks) are skipped; a value in matching single or double quotes loses them; no
/// escapes, no expansion, nothing else is interpreted (what the file says is what the variable
/// holds). A key is printable ASCII without `=` or blanks, at most 128 characters, as
/// Kubernetes takes it. The error names the line, never its value.
@inline(never)  // size: frame
public func parseEnvFile(_ bytes: [UInt8]) throws(EnvFileProblem) -> [(key: String, value: String)] {
    var out: [(key: String, value: String)] = []
    var lineNumber = 0
    for raw in splitBytes(bytes[...], 10, omittingEmpty: false) {
        lineNumber += 1
        var line = raw[...]
        if line.last == 13 { line = line.dropLast() }  // CRLF
        let content = line.drop { $0 == 32 || $0 == 9 }
        if content.isEmpty || content.first == 35 { continue }  // blank or "#"
        guard let eq = content.firstIndex(of: 61) else {
            throw EnvFileProblem("line \(lineNumber) is not KEY=VALUE")
        }
        let key = content[content.startIndex..<eq]
        guard !key.isEmpty, key.count <= 128, key.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw EnvFileProblem("line \(lineNumber): the key is not printable ASCII without blanks, 1 to 128 characters")
        }
        var value = content[(eq + 1)...]
        if value.count >= 2, let q = value.first, q == 34 || q == 39, value.last == q {
            value = value.dropFirst().dropLast()
        }
        out.append((OSString.decode(key), OSString.decode(value)))
    }
    return out
}

/// The `NAME=value` entries `refs` give, read from their files now; what is missing and not
/// optional is a problem naming the file, the key and why (and the caller names the container).
/// `optional` covers a file or key that does not exist, and nothing else (KEP-3721's "Failure
/// and Fallback Strategy": a file that exists but cannot be read or parsed fails the start).
func readEnvFiles(_ refs: [EnvFileRef], read: (EnvFileRef) -> Result<[UInt8], FileProblem>) throws(EnvFileProblem) -> [(position: Int, entry: String)] {
    var out: [(position: Int, entry: String)] = []
    for ref in refs {
        // What is wrong with the file, after its name: one message built in one place.
        let why: String
        switch read(ref) {
        case .failure(let problem):
            if ref.optional && problem.missing { continue }
            why = joined(" cannot be read", ref.key.map { joined(" (for its key ", $0, ")") } ?? "", joined(": ", problem.reason, ""))
        case .success(let bytes):
            do {
                let entries = try parseEnvFile(bytes)
                guard let key = ref.key, let name = ref.name else {
                    for e in entries { out.append((ref.position, joined(e.key, "=", e.value))) }
                    continue
                }
                if let found = entries.last(where: { same($0.key, key) }) {
                    out.append((ref.position, joined(name, "=", found.value)))
                    continue
                }
                if ref.optional { continue }
                why = " has no key " + key
            } catch {
                why = ": " + error.message
            }
        }
        throw EnvFileProblem(joined("the env file ", ref.path, why))
    }
    return out
}
