import Testing
@testable import UsherCore

@Suite struct LinePrefixing {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    func feed(_ p: inout LinePrefixer, _ s: String) -> String { text(p.feed(ArraySlice(Array(s.utf8)))) }

    @Test func labelsAlignedLines() {
        var p = LinePrefixer(name: "app", width: 6)
        #expect(feed(&p, "one\ntwo\n") == "app    | one\napp    | two\n")
    }

    @Test func holdsPartialLinesUntilTheirNewline() {
        var p = LinePrefixer(name: "a", width: 1)
        #expect(feed(&p, "hel") == "")
        #expect(feed(&p, "lo\nwor") == "a | hello\n")
        #expect(feed(&p, "ld") == "")
        #expect(text(p.finish()) == "a | world\n", "the last line is not lost")
        #expect(text(p.finish()) == "")
    }

    @Test func emptyLinesAndColour() {
        var p = LinePrefixer(name: "db", width: 2, colour: 36)
        #expect(feed(&p, "\n") == "\u{1B}[36mdb | \u{1B}[0m\n")
    }

    @Test func overlongLinesAreCutNotHeld() {
        var p = LinePrefixer(name: "x", width: 1)
        let big = String(repeating: "y", count: LinePrefixer.maxLine + 10)
        let out = feed(&p, big)
        #expect(out == "x | " + String(repeating: "y", count: LinePrefixer.maxLine) + "\n")
        #expect(text(p.finish()) == "x | yyyyyyyyyy\n")
    }
}

@Suite struct PrefixOption {
    func options(_ args: [String], _ env: [String: String] = [:]) throws -> RunOptions {
        guard case .run(_, let o) = try parseInvocation(args, env: { env[$0] }) else {
            Issue.record("expected run")
            return RunOptions()
        }
        return o
    }

    @Test func flagAndVariable() throws {
        #expect(try options(["app"]).prefix == false)
        #expect(try options(["--prefix", "app"]).prefix == true)
        #expect(try options(["app"], ["USHER_PREFIX": "yes"]).prefix == true)
        #expect(try options(["app"], ["USHER_PREFIX": "0"]).prefix == false)
        #expect(try options(["--prefix", "app"], ["USHER_PREFIX": "off"]).prefix == true, "the flag wins")
        #expect(throws: UsageError("--prefix takes no value")) { try options(["--prefix=yes", "app"]) }
        #expect(throws: UsageError("USHER_PREFIX: \"maybe\" is not a yes or no (use 1, true, yes, on, or 0, false, no, off)")) {
            try options(["app"], ["USHER_PREFIX": "maybe"])
        }
    }
}
