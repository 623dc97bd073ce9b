import CUsher

/// Non-blocking TCP for probes: every socket call usher makes, wrapped once.
enum TCP {
    /// Starts connecting; the socket becomes writable when the connect has finished.
    static func connect(_ url: HTTPURL) -> Result<Int32, SystemError> { connect(url.address, url.port) }

    /// The same for an IPv4 address in network byte order.
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

    static func close(_ fd: Int32) { _ = CUsher.close(fd) }
}

/// The container's own IPv4 address, as the kubelet would use the pod's IP: the first address of
/// an interface that is up and not loopback; nil when there is none (a container with no
/// network, say), and callers then fall back to 127.0.0.1.
func ownAddress() -> UInt32? {
    var address: UInt32 = 0
    return cusher_first_ipv4(&address) == 0 ? address : nil
}
