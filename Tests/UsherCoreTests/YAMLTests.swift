import Testing
@testable import UsherCore

/// The YAML layer: libyaml's events into a node tree with positions, Kubernetes' scalar
/// resolution, anchors and aliases, and the limits that keep hostile input harmless.
@Suite struct YAMLParsing {
    func parse(_ text: String) throws(UsageError) -> [YAMLNode] {
        try parseYAML(Array(text.utf8), file: "f.yaml")
    }

    func failure(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func treeWithPositions() throws {
        let docs = try parse("a: 1\nb:\n  - x\n  - 'y'\n")
        #expect(docs.count == 1)
        guard case .mapping(let pairs) = docs[0].content else {
            Issue.record("not a mapping")
            return
        }
        #expect(pairs.count == 2)
        #expect((pairs[1].key.line, pairs[1].key.column) == (2, 1))
        guard case .sequence(let items) = pairs[1].value.content else {
            Issue.record("not a sequence")
            return
        }
        #expect((items[0].line, items[0].column) == (3, 5))
        #expect((items[1].line, items[1].column) == (4, 5))
        guard case .scalar(let text, let style, _) = items[1].content else {
            Issue.record("not a scalar")
            return
        }
        #expect(text == "y" && style == .quoted)
        #expect(docs[0].expandedSize == 7)
    }

    @Test(arguments: [
        ("10", ResolvedScalar.int(10)), ("-3", .int(-3)), ("+7", .int(7)), ("0x1F", .int(31)),
        ("0o17", .int(15)), ("017", .int(15)), ("0b101", .int(5)), ("1_000", .int(1000)),
        ("0", .int(0)), ("-9223372036854775808", .int(Int64.min)),
        ("99999999999999999999", .int(nil)), ("1.5", .float), ("1e3", .float), (".5", .float),
        ("-.inf", .float), (".nan", .float), ("08", .float),
        ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)), ("yes", .bool(true)),
        ("on", .bool(true)), ("false", .bool(false)), ("No", .bool(false)), ("off", .bool(false)),
        ("null", .null), ("~", .null), ("", .null), ("NULL", .null),
        ("abc", .string), ("1.2.3", .string), ("0x", .string), ("1_", .string), ("_1", .string),
        ("-", .string), ("tRUE", .string), ("1:30", .string), ("--port", .string),
    ] as [(String, ResolvedScalar)])
    func plainScalars(text: String, expected: ResolvedScalar) {
        #expect(resolvePlain(Array(text.utf8)) == expected)
    }

    @Test func quotingAndTagsMakeStrings() throws {
        let docs = try parse("- \"8080\"\n- '1'\n- !!str true\n- !!int \"30\"\n- |\n  10\n")
        guard case .sequence(let items) = docs[0].content else {
            Issue.record("not a sequence")
            return
        }
        #expect(items.map(\.resolvedScalar) == [.string, .string, .string, .int(30), .string])
    }

    @Test func json() throws {
        let docs = try parse(#"{"containers": [{"name": "a", "n": 1, "b": false, "z": null}]}"#)
        guard case .mapping(let top) = docs[0].content, case .sequence(let list) = top[0].value.content,
              case .mapping(let fields) = list[0].content
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(fields.map(\.value.resolvedScalar) == [.string, .int(1), .bool(false), .null])
    }

    @Test func documents() throws {
        #expect(try parse("").isEmpty)
        #expect(try parse("a: 1\n---\nb: 2\n---\n").count == 3)
        let empty = try parse("---\n")
        #expect(empty.count == 1 && empty[0].resolvedScalar == .null)
    }

    @Test func anchorsAndAliasesShareTheNode() throws {
        let docs = try parse("base: &cmd [sleep, '1']\nagain: *cmd\n")
        guard case .mapping(let pairs) = docs[0].content else {
            Issue.record("not a mapping")
            return
        }
        #expect(pairs[0].value === pairs[1].value)
        #expect(docs[0].expandedSize == 1 + 2 + 3 + 3)
    }

    @Test func aliasErrors() {
        #expect(failure("a: *nope\n") == "f.yaml:1:4: alias *nope refers to no anchor defined before it")
        #expect(failure("a: &x [1, *x]\n") == "f.yaml:1:11: alias *x refers to a node that contains it")
        // Anchors do not cross documents.
        #expect(failure("a: &x 1\n---\nb: *x\n") == "f.yaml:3:4: alias *x refers to no anchor defined before it")
    }

    @Test func anchorsAreCapped() {
        let many = (0...256).map { "- &a\($0) x" }.joined(separator: "\n")
        #expect(failure(many) == "f.yaml:257:3: more than 256 YAML anchors in one document")
        #expect(failure("a: &x 1\nb: &x 2\nc: *x\n") == nil)  // the newest definition counts
    }

    @Test func mergeKeysAreRefused() {
        #expect(failure("base: &b {x: 1}\nc:\n  <<: *b\n")
            == "f.yaml:3:3: YAML merge keys (<<) are not supported by usher; write the fields out")
        // A quoted "<<" is an ordinary key.
        #expect(failure("c: {'<<': 1}\n") == nil)
    }

    @Test func syntaxErrors() {
        #expect(failure("a: [1, 2\n") == "f.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)")
        #expect(failure("a: b: c\n") == "f.yaml:1:5: YAML syntax error: mapping values are not allowed in this context")
        #expect(failure("a:\n  - x\n y: 1\n") == "f.yaml:3:2: YAML syntax error: did not find expected key (while parsing a block mapping)")
        #expect(failure("a: \"x\u{1}\"\n") == "f.yaml:1:6: YAML syntax error: control characters are not allowed")
        // Invalid UTF-8: libyaml's reader reports a byte offset, turned into line and column.
        #expect(throws: UsageError("f.yaml:2:4: YAML syntax error: invalid leading UTF-8 octet")) {
            try parseYAML(Array("a: 1\nb: ".utf8) + [0xFF, 10], file: "f.yaml")
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(failure(deep) == "f.yaml:1:65: YAML nesting deeper than 64 levels")
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(failure(ok) == nil)
        // Far deeper input stops at the same place: nothing recurses over it.
        #expect(failure(String(repeating: "- ", count: 100_000) + "x") == "f.yaml:1:129: YAML nesting deeper than 64 levels")
    }

    @Test func aliasBombIsRefused() {
        // Each level repeats the one before nine times: 9^9 nodes if expanded.
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            let p = "*a\(i - 1)"
            text += "a\(i): &a\(i) [\(Array(repeating: p, count: 9).joined(separator: ", "))]\n"
        }
        let message = failure(text)
        #expect(message?.hasPrefix("f.yaml:6:") == true)
        #expect(message?.hasSuffix("the file has more than 100000 YAML nodes (counting what each alias repeats)") == true)
    }

    /// The node cap alone let aliases of one large scalar repeat its bytes without bound: they are
    /// refused once the text they repeat passes 4 MiB, at the alias that passes it.
    @Test func aliasesOfALargeScalarAreRefused() {
        let big = String(repeating: "x", count: 100_000)
        var text = "- &big " + big + "\n"
        for _ in 1...41 { text += "- *big\n" }  // 42 copies of 100,000 bytes: past 4 MiB at the 42nd
        #expect(failure(text) == "f.yaml:42:3: the file has more than 4 MiB of YAML text (counting what each alias repeats)")
        // 41 copies (4.1 MB) are within the bound.
        text = "- &big " + big + "\n" + String(repeating: "- *big\n", count: 40)
        #expect(failure(text) == nil)
        // Aliases of aliases count what they repeat, too.
        text = "a: &a [" + String(repeating: "*x, ", count: 0) + "&x " + big + ", *x, *x, *x, *x, *x, *x, *x, *x, *x]\n"
            + "b: [" + Array(repeating: "*a", count: 5).joined(separator: ", ") + "]\n"
        #expect(failure(text) == "f.yaml:2:17: the file has more than 4 MiB of YAML text (counting what each alias repeats)")
    }

    /// The issue's file: one 600 KB scalar aliased 90,000 times (54 GB if expanded) took over
    /// 60 s in `usher check`, or 9 GB and death. It is refused at once now, by the decoder too.
    @Test func theIssuesAliasFileIsRefusedQuickly() {
        let big = String(repeating: "y", count: 600_000)
        let text = "containers:\n  - name: app\n    command: [&big " + big + "]\n    args: ["
            + Array(repeating: "*big", count: 90_000).joined(separator: ", ") + "]\n"
        let clock = ContinuousClock()
        var message: String?
        let took = clock.measure {
            do {
                _ = try decodeConfig(Array(text.utf8), file: "f.yaml")
            } catch {
                message = (error as? UsageError)?.message
            }
        }
        #expect(message == "f.yaml:4:42: the file has more than 4 MiB of YAML text (counting what each alias repeats)")
        #expect(took < .seconds(2), "took \(took)")
    }

    @Test func messagesQuoteValuesOnOneLine() {
        #expect(quoted("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\x01""#)
        #expect(quoted(String(repeating: "x", count: 100)) == "\"" + String(repeating: "x", count: 60) + "...\"")
    }
}
