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

func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
    guard var p = buf.baseAddress else { return }
    var left = buf.count
    while left > 0 {
        let n = retryingEINTR { write(fd, p, left) }
        if n <= 0 { return }
        p += n
        left -= n
    }
}

/// usher's lifecycle log on stderr, written without ever blocking: a PID 1 whose stderr pipe
/// nobody reads (a stuck log collector) must go on supervising, so a line that does not fit is
/// dropped, counted, and reported with the next line that does. Where the kernel cannot write
/// without blocking (a regular file, a terminal: those never stay blocked), it writes normally.
struct LogOutput {
    let fd: Int32
    /// Lines dropped since the last one written.
    private(set) var dropped = 0
    private var canWait = false

    init(fd: Int32) { self.fd = fd }

    mutating func write(_ line: String) {
        if dropped > 0 {
            guard put("usher: \(dropped) log line(s) dropped: stderr was not being read\n") else {
                dropped += 1
                return
            }
            dropped = 0
        }
        if !put(line) { dropped += 1 }
    }

    /// Writes all of `text`, or nothing when the pipe has no room (a line longer than the pipe's
    /// atomic size may be cut; usher's lines are far shorter).
    private mutating func put(_ text: String) -> Bool {
        if canWait {
            writeAll(fd, text)
            return true
        }
        var text = text
        return text.withUTF8 { buf -> Bool in
            guard var p = buf.baseAddress else { return true }
            var left = buf.count
            while left > 0 {
                let n = cusher_write_nowait(fd, p, UInt(left))
                if n < 0 {
                    let err = cusher_errno()
                    if err == EINTR { continue }
                    if err == EOPNOTSUPP {
                        canWait = true
                        writeAll(fd, UnsafeBufferPointer(start: p, count: left))
                        return true
                    }
                    // EAGAIN: full. Anything else (EPIPE from a closed stderr, EBADF): gone.
                    return err != EAGAIN
                }
                p += n
                left -= n
            }
            return true
        }
    }
}
