/// How a container's environment is composed, as Kubernetes composes it: usher's own
/// environment (the image's) first, without the variables the container sets; then the
/// container's entries (its `env`, with what its env files give laid in among them), each name
/// once, with the value and at the position of its last entry: a later entry wins.
///
/// Pure, and linear or n log n: a container may have some 20,000 entries within usher's limits,
/// and the composition runs inside the event loop, at each start.

/// `env` with the entries read from env files laid in, each before the entry at its position
/// (`env.count`: after the last), in their order. An entry at a position outside `env` is not
/// used.
func layingIn(_ fromFiles: [(position: Int, entry: String)], among env: [String]) -> [String] {
    var at = [[String]](repeating: [], count: env.count + 1)
    for f in fromFiles where f.position >= 0 && f.position <= env.count { at[f.position].append(f.entry) }
    var out: [String] = []
    out.reserveCapacity(env.count + fromFiles.count)
    for p in 0...env.count {
        out += at[p]
        if p < env.count { out.append(env[p]) }
    }
    return out
}

/// Which entries a process gets, given the names (byte for byte) of usher's own entries and of
/// the container's: the indices of the inherited entries kept (those whose name the container
/// does not set) and of the container's entries kept (the last of each name), each in order.
/// (`keptEntries` over names as lists of bytes, as the unit tests give them.)
func composeEnvironment(inherited: [ArraySlice<UInt8>], container: [ArraySlice<UInt8>]) -> (inherited: [Int], container: [Int]) {
    let entries = (inherited + container).map { name in
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: name.count + 1)
        for (k, b) in name.enumerated() { p[k] = CChar(bitPattern: b) }
        p[name.count] = 0
        return p
    }
    defer { for p in entries { p.deallocate() } }
    let keep = keptEntries(entries, inheritedCount: inherited.count)
    return (inherited.indices.filter { keep[$0] }, container.indices.filter { keep[inherited.count + $0] })
}

/// `composeEnvironment` over the C strings `Environment` builds from: usher's own entries (the
/// first `inheritedCount`), then the container's, each named by its bytes up to its first `=`
/// (or all of them); true for each entry kept. One sort of every name: a name's run of entries
/// then ends with its last entry, which alone is kept if it is the container's; a run of
/// usher's own entries alone is kept whole.
func keptEntries(_ entries: [UnsafeMutablePointer<CChar>], inheritedCount: Int) -> [Bool] {
    // By name, a name's entries in their order (a heapsort is not stable).
    var byName = Array(entries.indices)
    heapSort(&byName) { a, b in
        let order = compareNames(entries[a], entries[b])
        return order != 0 ? order < 0 : a < b
    }
    var keep = [Bool](repeating: false, count: entries.count)
    var run = 0
    for k in byName.indices where k + 1 == byName.count || compareNames(entries[byName[k]], entries[byName[k + 1]]) != 0 {
        let last = byName[k]
        if last >= inheritedCount {
            keep[last] = true
        } else {
            for j in run...k { keep[byName[j]] = true }
        }
        run = k + 1
    }
    return keep
}

/// -1, 0 or 1 as the name of entry `a` sorts before, with or after that of `b`, byte by byte
/// (a name ends at its first `=` or at the end: both read as a 0, which no name holds).
private func compareNames(_ a: UnsafeMutablePointer<CChar>, _ b: UnsafeMutablePointer<CChar>) -> Int {
    var i = 0
    while true {
        let x = a[i] == 61 ? 0 : UInt8(bitPattern: a[i]), y = b[i] == 61 ? 0 : UInt8(bitPattern: b[i])
        if x != y { return x < y ? -1 : 1 }
        if x == 0 { return 0 }
        i += 1
    }
}

/// Sorts `a` by `before` (a strict total order), in n log n in every case (the names come from
/// files a container may write). A heapsort: the standard library's sort, specialised for this
/// one use, made the release binary 2 KB larger. One loop, so that the sift is inlined once:
/// first each parent from the last one up to the root is sifted down (building the heap), then
/// the root is moved to the end, which the heap stops before, and the new root sifted down.
private func heapSort(_ a: inout [Int], by before: (Int, Int) -> Bool) {
    var start = a.count / 2, end = a.count
    while end > 1 {
        if start > 0 {
            start -= 1
        } else {
            end -= 1
            a.swapAt(0, end)
        }
        var root = start
        while 2 * root + 1 < end {
            var child = 2 * root + 1
            if child + 1 < end && before(a[child], a[child + 1]) { child += 1 }
            guard before(a[root], a[child]) else { break }
            a.swapAt(root, child)
            root = child
        }
    }
}

/// A container's environment as the C array its processes get (see `composeEnvironment`):
/// composed once per start of the container and handed to its every spawn, its hooks' and exec
/// probes' too, as it is. (Composed at each spawn, a large environment made every exec probe a
/// long stall of the loop.)
final class Environment {
    let envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    /// The entries of `envp` this owns (the container's copies).
    private let copies: Range<Int>

    /// `entries`: the container's `NAME=value` entries, laid over usher's own environment.
    init(_ entries: [String]) {
        // usher's own entries are passed as the pointers they are (byte for byte, whatever
        // their encoding): usher changes its environment only before its loop starts (Entry),
        // so they stay valid for as long as this is kept. Then the container's, as copies.
        var all: [UnsafeMutablePointer<CChar>] = []
        if var p = inheritedEnvironment() {
            while let entry = p.pointee {
                all.append(entry)
                p += 1
            }
        }
        let inheritedCount = all.count
        for entry in entries { all.append(OSString.cString(entry)) }
        let keep = keptEntries(all, inheritedCount: inheritedCount)
        envp = .allocate(capacity: all.count + 1)
        var count = 0
        var firstCopy = 0
        for i in all.indices {
            if keep[i] {
                envp[count] = all[i]
                count += 1
            } else if i >= inheritedCount {
                all[i].deallocate()  // a copy of an entry a later one overrides
            }
            if i < inheritedCount { firstCopy = count }
        }
        envp[count] = nil
        copies = firstCopy..<count
    }

    deinit {
        for k in copies { envp[k]?.deallocate() }
        envp.deallocate()
    }
}
