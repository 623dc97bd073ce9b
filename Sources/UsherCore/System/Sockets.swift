import CUsher

/// Non-blocking TCP for probes: every socket call usher makes, wrapped once.
enum TCP {
    /// Starts connecting to an IPv4 address in network byte order; the socket becomes writable
    /// when the connect has finished.
    static func connect(_ address: UInt32, _ port: UInt16) -> Result<Int32, SystemError> {
        let fd = cusher_tcp_connect(address, port)
        return fd >= 0 ? .success(fd) : .failure(SystemError("connect"))
    }

    /// 0 once a connect succeeded, else why it failed.
    static func pendingError(_ fd: Int32) -> Int32 { cusher_socket_error(fd) }

    /// Sends what it can; returns how much, or -1 (EAGAIN: try again when writable).
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int {
        bytes.withUnsafeBytes { buf in retryingEINTR { write(fd, buf.baseAddress, buf.count) } }
    }

    /// Reads what is there into `buffer`; returns the count, 0 at end of stream, -1 otherwise.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        buffer.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
    }

    /// Why the last send or receive returned -1; nil when it only would have blocked (EAGAIN:
    /// try again when the socket is ready).
    static func lastFailure() -> String? {
        let e = cusher_errno()
        return e == EAGAIN ? nil : errorText(e)
    }

    static func close(_ fd: Int32) { _ = CUsher.close(fd) }
}

/// A datagram socket for sd_notify messages: unbound, close-on-exec, non-blocking (a full socket
/// drops the message rather than stopping usher). Negative when it cannot be made.
func openNotifySocket() -> Int32 {
    cusher_notify_socket()
}

/// Sends `message` to the notify socket at `path` (a file path, or `@name` for an abstract one).
func sendNotify(_ fd: Int32, to path: String, _ message: String) {
    var text = message
    let cPath = OSString.cString(path)
    defer { cPath.deallocate() }
    _ = text.withUTF8 { buf in cusher_notify_send(fd, cPath, buf.baseAddress, UInt(buf.count)) }
}

/// The container's own IPv4 address, as the kubelet would use the pod's IP: the first address of
/// an interface that is up and not loopback; nil when there is none (a container with no
/// network, say), and callers then fall back to 127.0.0.1.
func ownAddress() -> UInt32? {
    var address: UInt32 = 0
    return cusher_first_ipv4(&address) == 0 ? address : nil
}
