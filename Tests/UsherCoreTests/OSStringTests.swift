import Testing
@testable import UsherCore

/// Bytes from the system pass through usher's Strings unchanged.
@Suite struct OSStrings {
    func roundTrip(_ bytes: [UInt8]) -> [UInt8] { OSString.encode(OSString.decode(bytes)) }

    @Test func validUTF8StaysTheSameString() {
        let text = "café ☕ /usr/bin/app --flag=ü 𝄞"
        #expect(OSString.decode(Array(text.utf8)).utf8.elementsEqual(text.utf8))
        #expect(roundTrip(Array(text.utf8)) == Array(text.utf8))
    }

    @Test func latin1AndStrayBytesComeBackExactly() {
        let latin1: [UInt8] = Array("/opt/caf".utf8) + [0xE9] + Array("/app".utf8)
        #expect(roundTrip(latin1) == latin1)
        for bytes: [UInt8] in [[0xFF, 0xFE], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                               [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x61, 0xC3]] {
            #expect(roundTrip(bytes) == bytes, "\(bytes)")
        }
    }

    @Test func theCarrierBlockItselfIsCarriedByteByByte() {
        // U+10FE80 and U+10FEFF written literally: they must not turn into single bytes.
        let literal: [UInt8] = [0xF4, 0x8F, 0xBA, 0x80, 0x41, 0xF4, 0x8F, 0xBB, 0xBF]
        #expect(roundTrip(literal) == literal)
        // Neighbours of the block are ordinary text.
        let neighbours: [UInt8] = [0xF4, 0x8F, 0xB9, 0xBF, 0xF4, 0x8F, 0xBC, 0x80]
        #expect(OSString.decode(neighbours).utf8.elementsEqual(neighbours))
    }

    @Test func everyShortByteStringRoundTrips() {
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for length in 1...12 {
            for _ in 0..<400 {
                let bytes = (0..<length).map { _ in next() | 1 }  // no NUL: C strings cannot hold it
                #expect(roundTrip(bytes) == bytes, "\(bytes)")
            }
        }
    }

    @Test func printableShowsBytesAndControlsAsEscapes() {
        let s = OSString.decode(Array("a".utf8) + [0xFF] + Array("\nb\tc".utf8) + [0x1B])
        #expect(OSString.printable(s) == "a\\xff\\nb\\tc\\x1b")
        #expect(OSString.printable("line one\nline two\n", keepingLines: true) == "line one\nline two\n")
        #expect(OSString.printable(s, controls: false) == "a\\xff\nb\tc\u{1B}")
        #expect(OSString.printable("plain ☕") == "plain ☕")
    }

    @Test func jsonShowsACarriedByteAsText() {
        #expect(escapeJSON(OSString.decode([0x61, 0xE9, 0x0A])) == "a\\\\xe9\\n")
    }
}
