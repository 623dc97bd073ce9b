// Kubernetes' `$(VAR)` expansion in a container's env values, command and args, bounded by what
// exec can take. Each variable may refer to the ones before it, so a file of a few lines can ask
// for a value twice as long per variable (40 variables: a terabyte); the bounds stop that at
// the first string or total that no program could be started with.

/// Linux's limit on one argument or environment string passed to execve, its NUL included
/// (MAX_ARG_STRLEN, 32 pages of 4 KiB): a longer one fails with E2BIG whatever the stack.
let maxArgumentBytes = 128 << 10
/// What one container's argv and env (each string with its NUL) may come to: ARG_MAX with the
/// default 8 MiB stack limit, a quarter of it (`getconf ARG_MAX` says 2097152). The kernel never
/// takes more than 6 MiB, and usher's own environment comes on top of the container's.
let maxExecBytes = 2 << 20
/// What the argv and env of all the containers may come to together: four containers at exec's
/// limit. It bounds what expansion makes of aliases (an env list near 2 MiB once expanded,
/// aliased into a thousand containers, would otherwise be 2 GB).
let maxPlanBytes = 8 << 20

/// The variables a `$(NAME)` reference sees: a container's env entries so far, the last
/// definition of a name winning. Sorted by name, so a reference costs a binary search rather
/// than a scan of every entry (thousands of variables and references stay cheap). Public for the
/// `expand` fuzz target.
public struct Variables {
    private var names: [[UInt8]] = []
    private var values: [[UInt8]] = []

    public init() {}

    public mutating func define(_ name: [UInt8], _ value: [UInt8]) {
        let i = position(name[...])
        if i < names.count && names[i] == name {
            values[i] = value
        } else {
            names.insert(name, at: i)
            values.insert(value, at: i)
        }
    }

    public func value(of name: ArraySlice<UInt8>) -> [UInt8]? {
        let i = position(name)
        return i < names.count && names[i].elementsEqual(name) ? values[i] : nil
    }

    /// The first index whose name is not below `name`.
    private func position(_ name: ArraySlice<UInt8>) -> Int {
        var low = 0
        var high = names.count
        while low < high {
            let mid = (low + high) / 2
            if names[mid].lexicographicallyPrecedes(name) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// Kubernetes' `$(VAR)` expansion: `$(NAME)` becomes the value of NAME in `variables`; a
/// reference to an undefined variable, and an unclosed `$(`, stay as written; `$$` is a `$`; any
/// other `$` stays. A port of the kubelet's `expansion.Expand`, over bytes. nil when the result
/// would be longer than `limit` bytes: it stops there, so no file makes it build more.
public func expandReferences(_ text: String, _ variables: Variables, limit: Int) -> String? {
    let b = Array(text.utf8)
    guard b.contains(36) else { return b.count <= limit ? text : nil }  // no "$"
    var out: [UInt8] = []
    var i = 0
    // One element type for every append (bytes of `b` or of a value): a generic `add` was
    // specialized for each.
    func add(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard out.count + bytes.count <= limit else { return false }
        out += bytes
        return true
    }
    while i < b.count {
        guard b[i] == 36, i + 1 < b.count else {
            guard add(b[i...i]) else { return nil }
            i += 1
            continue
        }
        if b[i + 1] == 36 {  // "$$"
            guard add(b[i...i]) else { return nil }
            i += 2
        } else if b[i + 1] == 40, let close = b[(i + 2)...].firstIndex(of: 41) {  // "$(NAME)"
            let written = b[i...close]
            let ok = variables.value(of: b[(i + 2)..<close]).map { add($0[...]) } ?? add(written)
            guard ok else { return nil }
            i = close + 1
        } else {  // a lone "$", or an unclosed "$(": copied, and scanning resumes after the "$"
            guard add(b[i...i]) else { return nil }  // the "$"
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
