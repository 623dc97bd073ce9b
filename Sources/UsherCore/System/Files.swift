import CUsher

/// Reads a whole file, up to `limit` bytes (a config file, a /proc listing).
func readWholeFile(_ path: String, limit: Int = 1 << 20) -> Result<[UInt8], SystemError> {
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    let fd = cusher_open_read(cPath)
    guard fd >= 0 else { return .failure(SystemError("open")) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count <= limit {
        let n = chunk.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
        if n < 0 { return .failure(SystemError("read")) }
        if n == 0 { return .success(bytes) }
        bytes += chunk[0..<n]
    }
    return .failure(SystemError("read", errno: EFBIG))
}

/// Replaces the file at `path` with `text` at once: written to `path.tmp`, then renamed over it,
/// so a reader sees the old contents or the new, never half of them.
func replaceFile(_ path: String, with text: String) -> Bool {
    let tmp = path + ".tmp"
    let cTmp = OSString.cString(tmp)
    defer { cTmp.deallocate() }
    let fd = cusher_open_for_writing(cTmp, 1)
    guard fd >= 0 else { return false }
    let wrote = writeAll(fd, text)
    close(fd)
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    guard wrote, rename(cTmp, cPath) == 0 else {
        unlink(cTmp)
        return false
    }
    return true
}

/// Writes `text` to an existing file at `path` (or creates it when `create`); false when it
/// cannot be opened or written.
func writeFile(_ path: String, _ text: String, create: Bool) -> Bool {
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    let fd = cusher_open_for_writing(cPath, create ? 1 : 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return writeAll(fd, text)
}

/// Makes the directory `path` (0755); true when it exists afterwards.
func makeDirectory(_ path: String) -> Bool {
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    return cusher_make_directory(cPath) == 0
}
