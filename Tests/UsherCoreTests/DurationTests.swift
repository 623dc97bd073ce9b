import Testing
@testable import UsherCore

@Suite struct Durations {
    @Test(arguments: [
        ("0", 0), ("0s", 0), ("10", 10 * second), ("1.5", 1500 * ms), ("500ms", 500 * ms),
        ("10s", 10 * second), ("1m30s", 90 * second), ("2h", 7200 * second),
        ("1h2m3s4ms", 3723 * second + 4 * ms), ("1.5s", 1500 * ms), (".5s", 500 * ms),
        ("250us", 250_000), ("250µs", 250_000), ("7ns", 7), ("0.1s", 100 * ms),
        ("1.000000001s", second + 1),
    ] as [(String, Nanos)])
    func valid(text: String, expected: Nanos) {
        #expect(parseDuration(text) == expected)
    }

    @Test(arguments: ["", "s", "abc", "10x", "1m30", "-1s", "1..5s", "10 s", "1e3", "9999999999999h",
                      "5.s.", "1sm"])
    func invalid(text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test func formatting() {
        #expect(formatDuration(0) == "0ms")
        #expect(formatDuration(250 * ms) == "250ms")
        #expect(formatDuration(30 * second) == "30s")
        #expect(formatDuration(90 * second) == "1m30s")
        #expect(formatDuration(3600 * second) == "1h")
        #expect(formatDuration(3660 * second) == "1h1m")
        #expect(formatDuration(1500 * ms) == "1.500s")
        #expect(formatSeconds(143 * ms) == "0.143s")
        #expect(formatSeconds(12 * second + 5 * ms) == "12.005s")
    }
}
