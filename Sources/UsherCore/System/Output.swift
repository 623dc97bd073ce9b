import CUsher

/// Writes all of `text` to `fd` with ordinary, blocking writes: for what usher prints when it
/// supervises nothing (`--help`, `--version`, `usher check`, a message before anything started)
/// and for the rehearsal's report once every process has stopped. While processes run, every
/// write goes through a non-blocking `Sink` instead. Returns false when the write failed (a full
/// disk, /dev/full, a closed pipe: SIGPIPE is ignored, so EPIPE arrives here), so that the
/// caller can say so and exit non-zero.
@discardableResult
public func writeAll(_ fd: Int32, _ text: String) -> Bool {
    var text = text
    return text.withUTF8 { writeAll(fd, $0) }
}

@discardableResult
func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) -> Bool {
    guard var p = buf.baseAddress else { return true }
    var left = buf.count
    while left > 0 {
        let n = retryingEINTR { write(fd, p, left) }
        if n < 0 && cusher_errno() == EAGAIN {
            // A description someone else made non-blocking: wait for room, as a blocking write
            // would, rather than lose the rest.
            var one = [fd]
            _ = one.withUnsafeMutableBufferPointer { cusher_poll_writable_any($0.baseAddress, 1, -1) }
            continue
        }
        if n <= 0 { return false }
        p += n
        left -= n
    }
    return true
}

/// Prints `text` on stdout for a command whose whole job is that output (`--help`, `--version`,
/// `check`, the rehearsal's report): exit status 0, or 1 with a message on stderr when stdout
/// did not take it, so that `usher check > /dev/full` does not pass for a success.
func printResult(_ text: String, status: Int32 = 0) -> Int32 {
    if writeAll(1, text) { return status }
    let err = cusher_errno()
    writeAll(2, "usher: cannot write to standard output: \(errorText(err))\n")
    return 1
}
