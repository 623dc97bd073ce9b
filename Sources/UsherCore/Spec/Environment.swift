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
func composeEnvironment(inherited: [ArraySlice<UInt8>], container: [ArraySlice<UInt8>]) -> (inherited: [Int], container: [Int]) {
    // The container's entries sorted by name, a name's entries in their order: each run of one
    // name ends with the entry that counts.
    var byName = Array(container.indices)
    heapSort(&byName) { a, b in
        let order = compareBytes(container[a], container[b])
        return order != 0 ? order < 0 : a < b
    }
    var wins = [Bool](repeating: false, count: container.count)
    for k in byName.indices where k + 1 == byName.count || compareBytes(container[byName[k]], container[byName[k + 1]]) != 0 {
        wins[byName[k]] = true
    }
    let set = { (name: ArraySlice<UInt8>) -> Bool in
        var low = 0, high = byName.count
        while low < high {
            let mid = (low + high) / 2
            if compareBytes(container[byName[mid]], name) < 0 { low = mid + 1 } else { high = mid }
        }
        return low < byName.count && compareBytes(container[byName[low]], name) == 0
    }
    return (inherited.indices.filter { !set(inherited[$0]) }, container.indices.filter { wins[$0] })
}

/// -1, 0 or 1 as `a` sorts before, with or after `b`, byte by byte.
private func compareBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
    var i = a.startIndex, j = b.startIndex
    while i < a.endIndex && j < b.endIndex {
        if a[i] != b[j] { return a[i] < b[j] ? -1 : 1 }
        i += 1
        j += 1
    }
    return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
}

/// Sorts `a` by `before` (a strict total order), in n log n in every case (the names come from
/// files a container may write). A heapsort: the standard library's sort, specialised for this
/// one use, made the release binary 2 KB larger.
private func heapSort(_ a: inout [Int], by before: (Int, Int) -> Bool) {
    func siftDown(_ start: Int, _ end: Int) {
        var root = start
        while 2 * root + 1 < end {
            var child = 2 * root + 1
            if child + 1 < end && before(a[child], a[child + 1]) { child += 1 }
            guard before(a[root], a[child]) else { return }
            a.swapAt(root, child)
            root = child
        }
    }
    var start = a.count / 2
    while start > 0 {
        start -= 1
        siftDown(start, a.count)
    }
    var end = a.count
    while end > 1 {
        end -= 1
        a.swapAt(0, end)
        siftDown(0, end)
    }
}
