/// usher's two destinations (its stdout and stderr, each a non-blocking `Sink`), the lifecycle
/// log written to stderr, and `--prefix`: each child's stdout and stderr go through a pipe that
/// usher reads in its event loop and copies, line by line and labelled, to its own stdout and
/// stderr. No extra process; without `--prefix` children write straight to usher's stdout and
/// stderr with no copy, and only the log goes through here.
///
/// Nothing here may hold up the loop: each wake-up reads at most one chunk from each readable
/// pipe (a child writing as fast as it can never keeps usher from its signals and timers), and
/// a destination that is full stops the reading of the pipes that feed it until it has room
/// again (backpressure: those children block in write, as they would writing to it directly).
struct OutputPipes {
    struct Stream {
        let fd: Int32
        let process: Int
        /// 1 or 2: the sink its lines go to.
        let destination: Int32
        var prefixer: LinePrefixer
        /// Not being read while its destination is full.
        var paused = false
        /// At usher's exit: how much more of it the final flush copies (see `finish`).
        var unflushed = 0
    }

    /// Each stream is changed in place (`streams[s].paused = ...`), never copied out: it owns its
    /// pipe's fd and its prefixer's unfinished line.
    private var streams: [Stream] = []
    /// Indexed by usher's fd (1, 2); opened at first use. Changed only through `withSink`, in
    /// place: a Sink owns its queue, and a copy taken out and not written back would lose the
    /// bytes queued into it (and copy the queue). Read-only looks (`sinks[k]?.pending`) are fine.
    private var sinks: [Sink?] = [nil, nil, nil]
    private var watched = [false, false, false]
    /// Log lines dropped since the last one written (stderr was full).
    private(set) var droppedLogLines = 0
    private var buffer = [UInt8](repeating: 0, count: OutputPipes.chunk)

    /// The most read from one pipe per wake-up.
    static let chunk = 4096
    /// How much of stderr's queue log lines may fill.
    static let logBacklog = 16 * 1024

    /// Runs `body` on sink `k` (1 or 2) in place, opening it first if need be.
    private mutating func withSink(_ k: Int32, _ body: (inout Sink) -> Void) {
        if sinks[Int(k)] == nil { sinks[Int(k)] = Sink(original: k) }
        body(&sinks[Int(k)]!)
    }

    // MARK: - The lifecycle log

    /// Writes one log line to stderr. While stderr is not taking output the lines wait, up to
    /// `logBacklog` bytes of them (about 200 lines); past that a line is dropped and counted,
    /// and the next line that fits is preceded by `notice(count)`.
    mutating func log(_ line: String, notice: (Int) -> String, poller: Poller) {
        var bytes = Array(line.utf8)
        if droppedLogLines > 0 { bytes = Array(notice(droppedLogLines).utf8) + bytes }
        var dropped = droppedLogLines
        withSink(2) { s in
            if s.hasRoom(for: bytes.count, within: OutputPipes.logBacklog) {
                s.put(bytes)
                dropped = 0
            } else {
                dropped += 1
            }
        }
        droppedLogLines = dropped
        update(2, poller: poller)
    }

    // MARK: - --prefix pipes

    /// Opens the two pipes for process `index`; returns the child's ends (stdout, stderr),
    /// which the caller closes once the child is spawned. `stdoutTo` is 1, or 2 in a rehearsal.
    mutating func open(for index: Int, name: String, width: Int, stdoutTo: Int32, poller: Poller) throws(SystemError) -> (Int32, Int32) {
        var childEnds: [Int32] = []
        for destination: Int32 in [stdoutTo, 2] {
            guard let fds = makeOutputPipe() else {
                let error = SystemError("pipe2")
                for fd in childEnds { closeDescriptor(fd) }
                throw error
            }
            do {
                try poller.add(fds.read, token: PollerToken.streams + UInt64(fds.read))
            } catch {
                closeDescriptor(fds.read)
                closeDescriptor(fds.write)
                for fd in childEnds { closeDescriptor(fd) }
                throw error
            }
            let colour = isTerminal(destination)
                ? LinePrefixer.colours[index % LinePrefixer.colours.count] : nil
            streams.append(Stream(fd: fds.read, process: index, destination: destination,
                                  prefixer: LinePrefixer(name: name, width: width, colour: colour)))
            childEnds.append(fds.write)
        }
        return (childEnds[0], childEnds[1])
    }

    /// A poller token of ours became ready: a pipe to read, or a sink with room again.
    mutating func ready(token: UInt64, poller: Poller) {
        if token < PollerToken.streams {
            let k = Int32(token - PollerToken.sinks)
            guard k == 1 || k == 2, sinks[Int(k)] != nil else { return }
            withSink(k) { $0.flush() }
            update(k, poller: poller)
            return
        }
        guard let s = streams.firstIndex(where: { UInt64($0.fd) + PollerToken.streams == token }) else { return }
        let destination = streams[s].destination
        _ = readOnce(s)
        update(destination, poller: poller)
    }

    /// Copies what process `index` has already written (before its exit is logged, so that its
    /// last lines come before the line that says it exited), as far as the destinations take it
    /// and at most `limit` bytes a stream.
    mutating func drain(process index: Int, poller: Poller, limit: Int = 64 * 1024) {
        var s = streams.count - 1
        while s >= 0 {
            if streams[s].process == index {
                let destination = streams[s].destination
                var total = 0
                while total < limit, case .read(let n) = readOnce(s) { total += n }
                update(destination, poller: poller)
            }
            s -= 1
        }
    }

    /// At usher's exit: copies what is already in every pipe (a writer that outlived its
    /// process, a daemon, is not waited for), ends each stream's unfinished last line, and
    /// writes out what the sinks hold, waiting for them until `until` at the latest: then the
    /// rest is dropped, since a destination nobody reads must not keep usher alive.
    mutating func finish(until: Nanos) {
        // What a pipe holds as the flush begins is all that is copied of it: a daemon that
        // writes without pause keeps its pipe from ever being empty, and reading until empty
        // would read for as long as it writes. Where the amount is unknown, `until` bounds it.
        for s in streams.indices {
            let queued = queuedBytes(streams[s].fd)
            streams[s].unflushed = queued >= 0 ? Int(queued) : Int.max
        }
        while true {
            var s = streams.count - 1
            while s >= 0 {
                reading: while true {
                    if streams[s].unflushed <= 0 || monotonicNow() >= until {
                        closeStream(s)
                        break reading
                    }
                    switch readOnce(s, atMost: streams[s].unflushed) {
                    case .read(let n):
                        streams[s].unflushed -= n
                        continue reading
                    case .empty: closeStream(s)
                    case .ended, .noRoom: break
                    }
                    break reading
                }
                s -= 1
            }
            var waitFor: [Int32] = []
            for k: Int32 in [1, 2] where sinks[Int(k)] != nil {
                withSink(k) { sink in
                    sink.flush()
                    if !sink.isEmpty && !sink.closed { waitFor.append(sink.fd) }
                }
            }
            let now = monotonicNow()
            if (streams.isEmpty && waitFor.isEmpty) || now >= until { break }
            // Room comes when a reader reads: wait for it, never longer than what is left.
            let ms = Int32(min(100, max(1, (until - now) / 1_000_000)))
            if waitFor.isEmpty { continue }
            waitUntilWritable(waitFor, ms: ms)
        }
        for s in streams.indices.reversed() { closeStream(s) }
    }

    // MARK: - Inside

    enum ReadResult: Equatable {
        case read(Int)
        /// Nothing in the pipe now (EAGAIN).
        case empty
        /// Its destination is full: not read.
        case noRoom
        /// Every writer has closed it: its last line is written and the stream forgotten.
        case ended
    }

    /// One read of stream `s` into its destination, if the destination has room for what the
    /// read can become (every byte a newline, each with its label).
    private mutating func readOnce(_ s: Int, atMost limit: Int = OutputPipes.chunk) -> ReadResult {
        let destination = streams[s].destination
        var closed = false, pending = 0
        withSink(destination) { out in
            closed = out.closed
            pending = out.pending
        }
        let perByte = streams[s].prefixer.label.count + 1
        let room = Sink.capacity - pending
        guard closed || room >= perByte else { return .noRoom }
        let size = min(limit, closed ? OutputPipes.chunk : min(OutputPipes.chunk, room / perByte))
        let fd = streams[s].fd
        let n = readSome(fd, into: &buffer, count: size)
        if n > 0 {
            let lines = streams[s].prefixer.feed(buffer[0..<n])
            withSink(destination) { $0.put(lines) }
            return .read(n)
        }
        if n == 0 {
            closeStream(s)
            return .ended
        }
        return .empty
    }

    private mutating func closeStream(_ s: Int) {
        let lastLine = streams[s].prefixer.finish()
        withSink(streams[s].destination) { $0.put(lastLine) }
        closeDescriptor(streams[s].fd)  // closing also takes it out of epoll
        streams.remove(at: s)
    }

    /// Keeps the poller in step with sink `k`: watched for room while it holds bytes, and the
    /// pipes feeding it paused while it is full and resumed once it has drained to half.
    private mutating func update(_ k: Int32, poller: Poller) {
        guard let s = sinks[Int(k)] else { return }
        let token = PollerToken.sinks + UInt64(k)
        let wantWatch = !s.isEmpty && !s.closed
        if wantWatch != watched[Int(k)] {
            if wantWatch {
                watched[Int(k)] = (try? poller.add(s.fd, token: token, interest: .writable)) != nil
            } else {
                poller.remove(s.fd)
                watched[Int(k)] = false
            }
        }
        let full = !s.closed && s.pending + OutputPipes.chunk > Sink.capacity
        let drained = s.closed || s.pending <= Sink.capacity / 2
        for i in streams.indices where streams[i].destination == k {
            let token = PollerToken.streams + UInt64(streams[i].fd)
            if full && !streams[i].paused {
                streams[i].paused = true
                poller.watch(streams[i].fd, token: token, interest: .none)
            } else if drained && streams[i].paused {
                streams[i].paused = false
                poller.watch(streams[i].fd, token: token, interest: .readable)
            }
        }
    }
}
