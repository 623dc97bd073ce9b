import Testing
@testable import UsherCore

@Suite struct SignalNames {
    @Test(arguments: [("SIGTERM", 15), ("TERM", 15), ("term", 15), ("SigHup", 1), ("15", 15),
                      ("9", 9), ("SIGUSR1", 10), ("WINCH", 28), ("64", 64)] as [(String, Int32)])
    func valid(text: String, expected: Int32) {
        #expect(parseSignal(text) == expected)
    }

    @Test(arguments: ["", "SIG", "SIGFOO", "0", "65", "1000", "-15", "15x", "SIG15"])
    func invalid(text: String) {
        #expect(parseSignal(text) == nil)
    }

    @Test func names() {
        #expect(signalName(15) == "SIGTERM")
        #expect(signalName(9) == "SIGKILL")
        #expect(signalName(40) == "SIG40")
    }
}
