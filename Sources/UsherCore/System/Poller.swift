import CUsher

/// The event loop's one blocking point: epoll over usher's file descriptors (the signalfd and the
/// timerfd today; probe sockets later). `wait` blocks with no timeout, so an idle usher makes no
/// system call at all; wake-ups come only from a signal or the timer it armed.
struct Poller {
    let fd: Int32

    init() throws(SystemError) {
        fd = cusher_epoll_create()
        guard fd >= 0 else { throw SystemError("epoll_create1") }
    }

    /// Watches `watched` for input; `wait` reports `token` when it is readable.
    func add(_ watched: Int32, token: UInt64) throws(SystemError) {
        guard cusher_epoll_add(fd, watched, token) == 0 else { throw SystemError("epoll_ctl") }
    }

    /// Watches `watched` for the end of a connect (`writable`) or for input.
    func watch(_ watched: Int32, token: UInt64, writable: Bool) {
        _ = cusher_epoll_watch(fd, watched, token, writable ? 1 : 0)
    }

    /// Blocks until at least one watched descriptor is readable; returns their tokens.
    func wait() throws(SystemError) -> [UInt64] {
        var tokens = [UInt64](repeating: 0, count: 8)
        let n = tokens.withUnsafeMutableBufferPointer { buf in
            retryingEINTR { cusher_epoll_wait(fd, buf.baseAddress, Int32(buf.count), -1) }
        }
        guard n >= 0 else { throw SystemError("epoll_wait") }
        return Array(tokens[0..<Int(n)])
    }
}
