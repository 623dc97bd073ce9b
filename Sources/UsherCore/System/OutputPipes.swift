import CUsher

/// `--prefix`: each child's stdout and stderr go through a pipe that usher reads in its event
/// loop and copies, line by line and labelled, to its own stdout and stderr. No extra process;
/// without `--prefix` children write straight to usher's stdout and stderr with no copy.
struct OutputPipes {
    struct Stream {
        let fd: Int32
        let process: Int
        let destination: Int32
        var prefixer: LinePrefixer
    }

    private(set) var streams: [Stream] = []
    /// Tokens for the poller: a stream's token is its fd plus this.
    static let tokenBase: UInt64 = 16

    /// Opens the two pipes for process `index`; returns the child's ends (stdout, stderr),
    /// which the caller closes once the child is spawned.
    mutating func open(for index: Int, name: String, width: Int, stdoutTo: Int32, poller: Poller) throws(SystemError) -> (Int32, Int32) {
        var childEnds: [Int32] = []
        for destination: Int32 in [stdoutTo, 2] {
            var fds: [Int32] = [-1, -1]
            guard cusher_pipe_cloexec(&fds) == 0 else { throw SystemError("pipe2") }
            _ = cusher_set_nonblocking(fds[0])
            try poller.add(fds[0], token: OutputPipes.tokenBase + UInt64(fds[0]))
            let colour = isatty(destination) == 1
                ? LinePrefixer.colours[index % LinePrefixer.colours.count] : nil
            streams.append(Stream(fd: fds[0], process: index, destination: destination,
                                  prefixer: LinePrefixer(name: name, width: width, colour: colour)))
            childEnds.append(fds[1])
        }
        return (childEnds[0], childEnds[1])
    }

    /// Copies what is readable on the stream with this poller token; closes it at end of file.
    mutating func readable(token: UInt64) {
        guard token >= OutputPipes.tokenBase,
              let s = streams.firstIndex(where: { UInt64($0.fd) + OutputPipes.tokenBase == token })
        else { return }
        drain(s)
    }

    /// Copies everything already written by process `index` (before its exit is logged, so its
    /// last lines come before the line that says it exited).
    mutating func drain(process index: Int) {
        var s = 0
        while s < streams.count {
            let before = streams.count
            if streams[s].process == index { drain(s) }
            if streams.count == before { s += 1 }
        }
    }

    /// At usher's exit: copies what is left and writes unfinished last lines.
    mutating func flushAll() {
        while !streams.isEmpty {
            drain(0)
            if let s = streams.first {
                writeAll(s.destination, streams[0].prefixer.finish())
                close(s.fd)
                streams.removeFirst()
            }
        }
    }

    private mutating func drain(_ s: Int) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let fd = streams[s].fd
            let n = buffer.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
            if n > 0 {
                writeAll(streams[s].destination, streams[s].prefixer.feed(buffer[0..<n]))
                continue
            }
            if n == 0 {  // every writer has closed it: the last line, then forget the stream
                writeAll(streams[s].destination, streams[s].prefixer.finish())
                close(fd)
                streams.remove(at: s)
            }
            return  // EAGAIN: nothing more for now
        }
    }
}
