import CUsher

/// The event loop's one blocking point: epoll over usher's file descriptors (the signalfd, the
/// timerfd, probe sockets, `--prefix` pipes, and a full stdout or stderr waiting for room).
/// `wait` blocks with no timeout, so an idle usher makes no system call at all; wake-ups come
/// only from a signal, the timer it armed, or a descriptor it asked about.
struct Poller {
    let fd: Int32

    enum Interest: Int32 {
        /// Nothing: the descriptor stays registered but never wakes the loop (a pipe whose
        /// destination is full: level-triggered, it would otherwise wake the loop at once).
        case none = 0
        /// Input, or the end of a stream.
        case readable = 1
        /// Room to write, or the end of a non-blocking connect.
        case writable = 2
    }

    /// How many ready descriptors one wait reports at most. epoll hands them out round-robin
    /// (a descriptor still ready goes to the back of its ready list), so with more than this
    /// ready every one still gets its turn, the signalfd and the timerfd included.
    static let batch = 32

    /// How many descriptors may be registered: successful adds less successful removes (one
    /// thread, one poller: a global, since copies of the struct are handed around). Never below
    /// the true count: a descriptor closed without `remove` leaves epoll but stays counted,
    /// which only ever sends the loop to epoll when it need not (see `watchesOnly`).
    nonisolated(unsafe) private static var registered = 0

    /// True when nothing but the first `count` descriptors added (the loop's own, which never go
    /// away) can be watched: the loop may then wait on the signalfd alone.
    static func watchesOnly(_ count: Int) -> Bool { registered <= count }

    init() throws(SystemError) {
        fd = cusher_epoll_create()
        guard fd >= 0 else { throw SystemError("epoll_create1") }
    }

    /// Watches `watched`; `wait` reports `token` when it is ready for `interest`.
    func add(_ watched: Int32, token: UInt64, interest: Interest = .readable) throws(SystemError) {
        guard cusher_epoll_ctl(fd, CUSHER_EPOLL_ADD, watched, token, interest.rawValue) == 0 else {
            throw SystemError("epoll_ctl")
        }
        Poller.registered += 1
    }

    /// Changes what `watched` is watched for.
    func watch(_ watched: Int32, token: UInt64, interest: Interest) {
        _ = cusher_epoll_ctl(fd, CUSHER_EPOLL_MOD, watched, token, interest.rawValue)
    }

    /// The same for a probe socket: the end of a connect (`writable`), or input.
    func watch(_ watched: Int32, token: UInt64, writable: Bool) {
        watch(watched, token: token, interest: writable ? .writable : .readable)
    }

    /// Stops watching `watched` (closing a descriptor does that too).
    func remove(_ watched: Int32) {
        if cusher_epoll_ctl(fd, CUSHER_EPOLL_DEL, watched, 0, 0) == 0 { Poller.registered -= 1 }
    }

    /// Where `wait` puts the tokens: allocated once for usher's lifetime (one thread, one
    /// poller), so that waking up allocates nothing.
    nonisolated(unsafe) private static let tokens = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: Poller.batch)

    /// Blocks until at least one watched descriptor is ready (or `timeoutMs` passed, when it is
    /// not -1); returns their tokens, valid until the next wait.
    func wait(timeoutMs: Int32 = -1) throws(SystemError) -> UnsafeBufferPointer<UInt64> {
        let buf = Poller.tokens
        let n = retryingEINTR { cusher_epoll_wait(fd, buf.baseAddress, Int32(buf.count), timeoutMs) }
        guard n >= 0 else { throw SystemError("epoll_wait") }
        return UnsafeBufferPointer(rebasing: buf[0..<Int(n)])
    }
}
