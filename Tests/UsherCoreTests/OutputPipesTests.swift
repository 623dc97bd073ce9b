#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import UsherCore

// `--prefix` over real pipes (pipe(2)): OutputPipes copies each child's stdout and stderr,
// labelled, to usher's own fds 1 and 2. So each scenario runs in a child process of the test
// runner (an exit test), whose stdout and stderr the test then reads: the child's fds 1 and 2
// are exactly what usher's would be. Nothing else in that child writes to them.
//
// Two regressions, each seen failing on the buggy code before these tests landed:
// - the final flush (`OutputPipes.finish`) walked the streams forward and, when one reached its
//   end of file (and was removed), closed the stream that moved into its place without reading
//   it: every other stream's last lines were lost;
// - without the drain at reap (`Performer.reaped` copying the process's pipes before it returns
//   `.exited`), a child's last lines came out only at usher's exit, after the line that says it
//   exited.

/// Writes all of `text` to `fd` (a pipe with room: a few lines).
private func put(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    precondition(n == bytes.count)
}

/// The lines of `bytes` that begin with one of `labels` (the labelled ones: the runner's own
/// output, if any, is left out).
private func labelled(_ bytes: [UInt8], _ labels: [String]) -> [String] {
    String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map(String.init).filter { line in labels.contains { line.hasPrefix($0) } }
}

@Suite struct OutputPipesOverRealPipes {
    /// Three processes, each with lines (the last one without its newline) on stdout and stderr,
    /// every writer gone: the final flush copies all six streams, each line labelled, in order
    /// within each stream, and ends each unfinished last line. The old forward walk lost every
    /// stream that followed one at its end of file: here all three stderr streams.
    @Test func theFinalFlushCopiesEveryStreamEvenAfterOneAtItsEnd() async {
        let result = await #expect(processExitsWith: .success,
                                   observing: [\.standardOutputContent, \.standardErrorContent]) {
            let poller = try Poller()
            var pipes = OutputPipes()
            for (i, name) in ["one", "two", "three"].enumerated() {
                let (out, err) = try pipes.open(for: i, name: name, width: 5, stdoutTo: 1, poller: poller)
                put(out, "\(name) out 1\n\(name) out last")
                put(err, "\(name) err 1\n\(name) err last")
                close(out)
                close(err)
            }
            pipes.finish(until: later(monotonicNow(), by: nanosPerSecond))
        }
        guard let result else { return }
        let labels = ["one   | ", "two   | ", "three | "]
        #expect(labelled(result.standardOutputContent, labels).sorted() == [
            "one   | one out 1", "one   | one out last",
            "three | three out 1", "three | three out last",
            "two   | two out 1", "two   | two out last",
        ])
        #expect(labelled(result.standardErrorContent, labels).sorted() == [
            "one   | one err 1", "one   | one err last",
            "three | three err 1", "three | three err last",
            "two   | two err 1", "two   | two err last",
        ])
    }

    /// A stream whose writer is still there at usher's exit (a daemon holding the pipe) between
    /// two that ended: what it holds as the flush begins comes out, the flush does not wait for
    /// the writer to go, and the streams on either side lose nothing.
    @Test func theFinalFlushTakesWhatAStillOpenPipeHoldsAndDoesNotWaitForItsWriter() async {
        let result = await #expect(processExitsWith: .success,
                                   observing: [\.standardOutputContent, \.standardErrorContent]) {
            let poller = try Poller()
            var pipes = OutputPipes()
            var held: [Int32] = []
            for (i, name) in ["a", "daemon", "b"].enumerated() {
                let (out, err) = try pipes.open(for: i, name: name, width: 6, stdoutTo: 1, poller: poller)
                put(out, "\(name) says bye\n")
                put(err, "\(name) errs\n")
                if name == "daemon" {
                    held = [out, err]
                } else {
                    close(out)
                    close(err)
                }
            }
            let start = monotonicNow()
            pipes.finish(until: later(start, by: 5 * nanosPerSecond))
            // Well before the 5 s bound: the daemon's writer was not waited for.
            if monotonicNow() - start > 2 * nanosPerSecond { exit(3) }
            _ = held
        }
        guard let result else { return }
        let labels = ["a      | ", "daemon | ", "b      | "]
        #expect(labelled(result.standardOutputContent, labels).sorted() == [
            "a      | a says bye", "b      | b says bye", "daemon | daemon says bye",
        ])
        #expect(labelled(result.standardErrorContent, labels).sorted() == [
            "a      | a errs", "b      | b errs", "daemon | daemon errs",
        ])
    }

    /// A process reaped while its pipes still hold its last lines: `Performer.reaped` copies
    /// them before it returns the `.exited` event, so they come out before anything said about
    /// its exit (here a marker on stdout and a log line on stderr, written after `reaped`
    /// returns, as the driver logs the exit), not at usher's exit after it.
    @Test func aReapedProcessesLastLinesComeOutBeforeItsExitIsReported() async {
        let result = await #expect(processExitsWith: .success,
                                   observing: [\.standardOutputContent, \.standardErrorContent]) {
            let plan = Plan(containers: [proc("side", .sidecar), proc("app", .main)])
            let loop = try EventLoop()
            var performer = Performer(plan: plan, options: RunOptions(), loop: loop)
            let poller = loop.poller
            var ends: [(Int32, Int32)] = []
            for (i, name) in ["side", "app"].enumerated() {
                ends.append(try loop.outputs.open(for: i, name: name, width: 4, stdoutTo: 1, poller: poller))
            }
            // The app writes its last lines and exits; the sidecar goes on running.
            put(ends[1].0, "app's last words\n")
            put(ends[1].1, "app's last error\n")
            close(ends[1].0)
            close(ends[1].1)
            put(ends[0].0, "side still here\n")
            performer.pids = [1001, 1002]
            guard performer.reaped(1002, .exited(0)) == .exited(1, .exited(0)) else { exit(4) }
            put(1, "EXIT REPORTED\n")
            loop.outputs.log("app[1002] exited with status 0\n", notice: { _ in "" }, poller: poller)
            close(ends[0].0)
            close(ends[0].1)
            loop.outputs.finish(until: later(monotonicNow(), by: nanosPerSecond))
        }
        guard let result else { return }
        let out = labelled(result.standardOutputContent, ["app  | ", "side | ", "EXIT REPORTED"])
        #expect(out.firstIndex(of: "app  | app's last words") != nil)
        #expect(out.firstIndex(of: "app  | app's last words") ?? 99 < out.firstIndex(of: "EXIT REPORTED") ?? -1,
                "the app's last stdout line comes before its exit is reported: \(out)")
        #expect(out.contains("side | side still here"))
        let err = labelled(result.standardErrorContent, ["app  | ", "app[1002] exited"])
        #expect(err == ["app  | app's last error", "app[1002] exited with status 0"])
    }
}
