import CUsher

// The system calls of the output pipes (Driver/OutputPipes.swift), wrapped once.

/// A pipe for a child's output: both ends close-on-exec, the read end (usher's) non-blocking and
/// the write end (the child's) blocking. nil when it cannot be made (errno says why).
func makeOutputPipe() -> (read: Int32, write: Int32)? {
    var fds: [Int32] = [-1, -1]
    guard cusher_pipe_cloexec(&fds) == 0 else { return nil }
    _ = cusher_set_nonblocking(fds[0])
    return (fds[0], fds[1])
}

/// Whether `fd` is a terminal (labels are coloured only there).
func isTerminal(_ fd: Int32) -> Bool {
    isatty(fd) == 1
}

/// How many bytes wait unread in pipe `fd` (FIONREAD).
func queuedBytes(_ fd: Int32) -> Int32 {
    cusher_pipe_queued(fd)
}

/// One read of at most `count` bytes from `fd` into `buffer`: the count, 0 at the end of the
/// stream, -1 when nothing is there (EAGAIN) or it failed.
func readSome(_ fd: Int32, into buffer: inout [UInt8], count: Int) -> Int {
    buffer.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, min(count, buf.count)) } }
}

/// Waits until one of `fds` has room to write, or `ms` milliseconds passed.
func waitUntilWritable(_ fds: [Int32], ms: Int32) {
    _ = fds.withUnsafeBufferPointer { cusher_poll_writable_any($0.baseAddress, Int32($0.count), ms) }
}
