import CUsher

/// The memory cgroup usher runs in, read to tell an OOM kill from any other SIGKILL: Kubernetes
/// (1.28+, cgroup v2) sets `memory.oom.group=1` and the kernel then kills the whole container,
/// but where a single child is picked (cgroup v1, or v2 without oom.group), nothing else says
/// which child the OOM killer took. cgroup v2 counts in `memory.events` (`oom_kill N`), v1 in
/// `memory.oom_control`; the limit is `memory.max` (v2) or `memory.limit_in_bytes` (v1).
struct MemoryCgroup {
    let eventsPath: String
    let limitPath: String
    private(set) var oomKills: Int64

    /// The cgroup of usher's own, or nil where no memory controller can be read (no /sys/fs/cgroup
    /// in the container, say).
    static func own() -> MemoryCgroup? {
        guard case .success(let bytes) = readWholeFile("/proc/self/cgroup", limit: 64 * 1024) else { return nil }
        for line in splitBytes(bytes[...], 10) {
            let fields = splitBytes(line, 58, maxSplits: 2, omittingEmpty: false)
            guard fields.count == 3 else { continue }
            let path = String(decoding: fields[2], as: UTF8.self)
            let controllers = fields[1]
            if controllers.isEmpty {  // "0::/path": cgroup v2
                let base = same(path, "/") ? "/sys/fs/cgroup" : "/sys/fs/cgroup" + path
                if let c = MemoryCgroup(events: base + "/memory.events", limit: base + "/memory.max") { return c }
                // A hybrid layout keeps v2 under /sys/fs/cgroup/unified.
                let unified = "/sys/fs/cgroup/unified" + (same(path, "/") ? "" : path)
                if let c = MemoryCgroup(events: unified + "/memory.events", limit: unified + "/memory.max") { return c }
            } else if splitBytes(controllers, 44).contains(where: { $0.elementsEqual("memory".utf8) }) {
                let base = "/sys/fs/cgroup/memory" + (same(path, "/") ? "" : path)
                if let c = MemoryCgroup(events: base + "/memory.oom_control", limit: base + "/memory.limit_in_bytes") { return c }
                // Without a cgroup namespace (runc on cgroup v1) /proc/self/cgroup shows the
                // host's path while the container's own cgroup is mounted at the root.
                let root = "/sys/fs/cgroup/memory"
                if let c = MemoryCgroup(events: root + "/memory.oom_control", limit: root + "/memory.limit_in_bytes") { return c }
            }
        }
        return nil
    }

    init?(events: String, limit: String) {
        guard let count = MemoryCgroup.oomKills(events) else { return nil }
        eventsPath = events
        limitPath = limit
        oomKills = count
    }

    /// Whether the OOM killer has killed since the last look (and takes the new count).
    mutating func killedSinceLastLook() -> Bool {
        guard let count = MemoryCgroup.oomKills(eventsPath), count > oomKills else { return false }
        oomKills = count
        return true
    }

    /// The limit as the kernel writes it (`max`, or bytes).
    var limit: String? {
        guard case .success(let bytes) = readWholeFile(limitPath, limit: 256) else { return nil }
        let text = bytes.prefix { $0 != 10 }
        return text.isEmpty ? nil : String(decoding: text, as: UTF8.self)
    }

    private static func oomKills(_ path: String) -> Int64? {
        guard case .success(let bytes) = readWholeFile(path, limit: 4096) else { return nil }
        for line in splitBytes(bytes[...], 10) {
            let words = splitBytes(line, 32)
            guard words.count == 2, words[0].elementsEqual("oom_kill".utf8) else { continue }
            return words[1].reduce(Int64(0)) { $0 &* 10 &+ Int64($1 &- 48) }
        }
        return nil
    }
}
