import Testing
@testable import UsherCore

@Suite struct WordSplitting {
    @Test(arguments: [
        ("sleep 10", ["sleep", "10"]),
        ("  a   b\tc  ", ["a", "b", "c"]),
        ("sh -c 'echo hi; exit 3'", ["sh", "-c", "echo hi; exit 3"]),
        (#"echo "a \"b\" \$HOME \\ \x""#, ["echo", #"a "b" $HOME \ \x"#]),
        (#"a\ b c"#, ["a b", "c"]),
        ("''", [""]),
        ("a\"\"b'c'", ["abc"]),
        ("$HOME *", ["$HOME", "*"]),
        ("", []),
        ("x \"multi\nline\"", ["x", "multi\nline"]),
        ("a \\\n b", ["a", "b"]),
        ("a\\\nb", ["ab"]),
    ] as [(String, [String])])
    func splits(text: String, expected: [String]) throws {
        #expect(try splitWords(text) == expected)
    }

    @Test func errors() {
        #expect(throws: WordSplitError.unterminatedSingleQuote) { try splitWords("sh -c 'oops") }
        #expect(throws: WordSplitError.unterminatedDoubleQuote) { try splitWords(#"echo "oops"#) }
        #expect(throws: WordSplitError.trailingBackslash) { try splitWords(#"echo \"#) }
    }
}
