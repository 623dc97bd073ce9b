import CUsher

/// The memory cgroup usher runs in, read to tell an OOM kill from any other SIGKILL: Kubernetes
/// (1.28+, cgroup v2) sets `memory.oom.group=1` and the kernel then kills the whole container,
/// but where a single child is picked (cgroup v1, or v2 without oom.group), nothing else says
/// which child the OOM killer took. cgroup v2 counts in `memory.events` (`oom_kill N`), v1 in
/// `memory.oom_control`; the limit is `memory.max` (v2) or `memory.limit_in_bytes` (v1).
///
/// It only reports that the count grew: whom an OOM kill concerns is the supervisor's decision
/// (`Supervisor.oomKills`).
struct MemoryCgroup {
    /// The counting file, kept open: it is read at every reap (only then: an idle usher reads
    /// nothing), with one `pread` into `buffer`, so that a reap, a storm of orphans' too, costs
    /// one system call more and no allocation. Close-on-exec: no child sees it.
    private let eventsFD: Int32
    let limitPath: String
    /// cgroup v1 (memory.oom_control, memory.limit_in_bytes), else v2.
    let v1: Bool
    private(set) var oomKills: Int64
    private var buffer = [UInt8](repeating: 0, count: 512)

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
                if let c = MemoryCgroup(base, v1: false) { return c }
                // A hybrid layout keeps v2 under /sys/fs/cgroup/unified.
                let unified = "/sys/fs/cgroup/unified" + (same(path, "/") ? "" : path)
                if let c = MemoryCgroup(unified, v1: false) { return c }
            } else if splitBytes(controllers, 44).contains(where: { $0.elementsEqual("memory".utf8) }) {
                let base = "/sys/fs/cgroup/memory" + (same(path, "/") ? "" : path)
                if let c = MemoryCgroup(base, v1: true) { return c }
                // Without a cgroup namespace (runc on cgroup v1) /proc/self/cgroup shows the
                // host's path while the container's own cgroup is mounted at the root.
                let root = "/sys/fs/cgroup/memory"
                if let c = MemoryCgroup(root, v1: true) { return c }
            }
        }
        return nil
    }

    /// The memory cgroup at `directory`, when its counting file can be read.
    init?(_ directory: String, v1: Bool) {
        let path = OSString.cString(directory + (v1 ? "/memory.oom_control" : "/memory.events"))
        defer { path.deallocate() }
        let fd = cusher_open_read(path)
        guard fd >= 0 else { return nil }
        eventsFD = fd
        limitPath = directory + (v1 ? "/memory.limit_in_bytes" : "/memory.max")
        self.v1 = v1
        oomKills = 0
        guard let count = readCount() else {
            close(fd)
            return nil
        }
        oomKills = count
    }

    /// The new oom_kill count when it grew since the last read, else nil.
    mutating func grownCount() -> Int64? {
        guard let count = readCount(), count > oomKills else { return nil }
        oomKills = count
        return count
    }

    /// The limit as the kernel writes it (`max`, or bytes), with the cgroup version that names it.
    var limit: MemoryLimit? {
        guard case .success(let bytes) = readWholeFile(limitPath, limit: 256) else { return nil }
        let text = bytes.prefix { $0 != 10 }
        guard !text.isEmpty else { return nil }
        return MemoryLimit(String(decoding: text, as: UTF8.self), cgroupV1: v1)
    }

    /// `oom_kill N` from the counting file (memory.events and memory.oom_control both have it),
    /// scanned in place: no allocation.
    private mutating func readCount() -> Int64? {
        let fd = eventsFD
        let n = buffer.withUnsafeMutableBytes { buf in retryingEINTR { pread(fd, buf.baseAddress, buf.count, 0) } }
        guard n > 0 else { return nil }
        // A byte loop against the key's bytes: elementsEqual of a slice and a String's UTF-8
        // would be specialized for this one use.
        let key: StaticString = "oom_kill "
        var lineStart = 0
        while lineStart + 9 < n {
            var k = 0
            while k < 9 && buffer[lineStart + k] == key.utf8Start[k] { k += 1 }
            var end = lineStart + k
            while end < n && buffer[end] != 10 { end += 1 }
            if k == 9 { return Int64(plainDecimal(buffer[(lineStart + 9)..<end], maxDigits: 18) ?? 0) }
            lineStart = end + 1
        }
        return nil
    }
}

/// A memory cgroup's limit as the kernel writes it (`max`, or bytes), named as its cgroup version
/// names it: `memory.max` on cgroup v2, `memory.limit_in_bytes` on v1.
public struct MemoryLimit: Equatable {
    public var value: String
    public var cgroupV1: Bool

    public init(_ value: String, cgroupV1: Bool) {
        self.value = value
        self.cgroupV1 = cgroupV1
    }

    /// The file it is read from, which names it in the log.
    public var file: String { cgroupV1 ? "memory.limit_in_bytes" : "memory.max" }
}
