import CUsher

/// One of usher's own output descriptors (its stdout or stderr), written without ever blocking.
/// A PID 1 must not stall on a pipe nobody reads, a terminal stopped with Ctrl-S, or a log
/// collector that fell behind: what does not go out at once is queued, up to `capacity`, and
/// written when the destination has room again; the driver watches `fd` for that while anything
/// is queued. Whoever feeds a sink asks `hasRoom` first: the log drops a line that does not fit,
/// `--prefix` stops reading the children's pipes (they then block, as they would writing to the
/// destination directly).
struct Sink {
    enum Mode: Equatable {
        /// `fd` never blocks: a description of usher's own opened non-blocking (see `init`), or
        /// a regular file or /dev/null, which the kernel writes without waiting.
        case plain
        /// Each write asks not to wait (pwritev2 with RWF_NOWAIT): a socket (a log collector's
        /// stream), or a pipe usher could not open a description of its own for.
        case noWait
        /// A terminal usher could not open a description of its own for (no /proc): written
        /// only while poll says it takes output, a line at a time. A terminal's room is far
        /// larger than a line, so a write then never waits in practice; this is the weakest of
        /// the three, and the rarest.
        case polled
    }

    /// Where the bytes go: a descriptor of usher's own for fd 1 or 2 where one could be opened,
    /// else fd 1 or 2 themselves.
    let fd: Int32
    private(set) var mode: Mode
    /// Bytes accepted but not yet written, from `start` on.
    private var queue: [UInt8] = []
    private var start = 0
    static let capacity = 64 * 1024
    /// The destination is gone (EPIPE: nobody will ever read it; EBADF: it was never open):
    /// everything for it is dropped from now on.
    private(set) var closed = false

    /// For usher's descriptor `original` (1 or 2). Opening `/proc/self/fd/N` gives a new open
    /// file description of the same pipe or terminal, so O_NONBLOCK on it changes nothing for the
    /// children, which share the original description (setting O_NONBLOCK there would make their
    /// blocking writes fail with EAGAIN). A socket cannot be opened that way; RWF_NOWAIT makes
    /// its writes non-blocking per call instead.
    init(original: Int32) {
        switch cusher_fd_kind(original) {
        case CUSHER_FD_NEVER_BLOCKS:
            fd = original
            mode = .plain
        case CUSHER_FD_SOCKET:
            fd = original
            mode = .noWait
        case let kind:
            let own = cusher_reopen_nonblocking(original)
            if own >= 0 {
                fd = own
                mode = .plain
            } else {
                fd = original
                mode = kind == CUSHER_FD_TERMINAL ? .polled : .noWait
            }
        }
    }

    var pending: Int { queue.count - start }
    var isEmpty: Bool { pending == 0 }

    /// Whether `count` more bytes fit in the queue, or in its first `limit` bytes.
    func hasRoom(for count: Int, within limit: Int = Sink.capacity) -> Bool { closed || pending + count <= limit }

    /// Queues `bytes` and writes what the destination takes now. The caller has checked
    /// `hasRoom` (the queue may go past `capacity` by one call's bytes, never more).
    mutating func put(_ bytes: [UInt8]) {
        guard !closed, !bytes.isEmpty else { return }
        if isEmpty {
            let n = writeSome(bytes[...])
            if n == bytes.count { return }
            queue.removeAll(keepingCapacity: true)
            start = 0
            queue += bytes[max(n, 0)...]
        } else {
            queue += bytes
        }
        flush()
    }

    /// Writes queued bytes until the destination is full or the queue is empty.
    mutating func flush() {
        while !closed, !isEmpty {
            let n = writeSome(queue[start...])
            if n <= 0 { return }
            start += n
        }
        if isEmpty || closed {
            queue.removeAll(keepingCapacity: queue.capacity <= 2 * Sink.capacity)
            start = 0
        } else if start > Sink.capacity {
            queue.removeFirst(start)  // keep the queue from growing while it drains slowly
            start = 0
        }
    }

    /// One non-blocking write; returns how many bytes went out (0 when none fit now).
    private mutating func writeSome(_ bytes: ArraySlice<UInt8>) -> Int {
        let n: Int = bytes.withUnsafeBytes { buf in
            switch mode {
            case .plain:
                return retryingEINTR { write(fd, buf.baseAddress, buf.count) }
            case .noWait:
                return retryingEINTR { cusher_write_nowait(fd, buf.baseAddress, UInt(buf.count)) }
            case .polled:
                guard cusher_poll_writable(fd) == 1 else { return 0 }
                let line = buf.firstIndex(of: 10).map { $0 + 1 } ?? buf.count
                return retryingEINTR { write(fd, buf.baseAddress, line) }
            }
        }
        if n >= 0 { return n }
        let err = cusher_errno()
        if err == EAGAIN { return 0 }
        if err == EOPNOTSUPP && mode == .noWait {
            // A kernel without RWF_NOWAIT for this kind of file: a terminal, say.
            mode = .polled
            return 0
        }
        closed = true  // EPIPE, EBADF, EIO, ENOSPC...: nothing more will go there
        return 0
    }
}
