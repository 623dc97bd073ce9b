import CUsher

/// Reads a whole file, up to `limit` bytes (a config file, a /proc listing).
func readWholeFile(_ path: String, limit: Int = 1 << 20) -> Result<[UInt8], SystemError> {
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    let fd = cusher_open_read(cPath)
    guard fd >= 0 else { return .failure(SystemError("open")) }
    defer { close(fd) }
    return readAll(fd, limit: limit)
}

/// What is left to read from `fd`, up to `limit` bytes (EFBIG past it). The one read loop of
/// usher's files, its own and its containers'.
func readAll(_ fd: Int32, limit: Int, expected: Int = 0) -> Result<[UInt8], SystemError> {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(expected)
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
        if n < 0 { return .failure(SystemError("read")) }
        if n == 0 { return .success(bytes) }
        // A file that grows while it is read: the limit holds for what is read.
        guard bytes.count + n <= limit else { return .failure(SystemError("read", errno: EFBIG)) }
        bytes += chunk[0..<n]
    }
}

/// Writes `text` to the existing kernel file at `path` (a /proc setting); false when it cannot
/// be opened or written. (Files of a container's go through ContainerFiles' policy instead.)
func writeProcFile(_ path: String, _ text: String) -> Bool {
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    let fd = cusher_open_write(cPath)
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

/// Closes `fd` (the one place outside the system wrappers that gives a descriptor back).
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// Opens `path` write-only, close-on-exec (for /dev/null as a probe command's output); negative
/// when it cannot be opened.
func openForWriting(_ path: String) -> Int32 {
    cusher_open_write(path)
}
