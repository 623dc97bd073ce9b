import CUsher

/// Writes all of `text` to `fd`. A closed or full stderr must never stop usher: errors other
/// than EINTR/EAGAIN drop the rest of the line (SIGPIPE is ignored, so EPIPE arrives here).
public func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { writeAll(fd, $0) }
}

public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { writeAll(fd, $0) }
}

private func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
    guard var p = buf.baseAddress else { return }
    var left = buf.count
    while left > 0 {
        let n = retryingEINTR { write(fd, p, left) }
        if n <= 0 { return }
        p += n
        left -= n
    }
}
