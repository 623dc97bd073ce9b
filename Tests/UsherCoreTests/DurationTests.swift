import Testing
@testable import UsherCore

@Test func placeholder() { #expect(parseDuration("1s") == 1_000_000_000) }
