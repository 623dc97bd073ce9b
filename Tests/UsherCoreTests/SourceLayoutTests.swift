import Foundation
import Testing

/// The layers of Sources/UsherCore, checked on the source text: System/ is the only layer that
/// calls the kernel (imports the C shim), and each folder uses the types of the folders below it
/// in `order` only (System/ depends on nothing but Support/). A file that breaks a rule fails
/// here, naming itself and what it uses.
@Suite struct SourceLayout {
    /// Sources/UsherCore, found from this file's own path.
    static let core = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/UsherCore")

    /// Files outside System/ that may import the C shim, each with its reason. Keep it short.
    static let shimImportersOutsideSystem: [String: String] = [:]

    /// Every Swift file beneath Sources/UsherCore, by its path relative to it.
    static func sources() throws -> [(path: String, text: String)] {
        let root = core.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [(String, String)] = []
        for case let path as String in walker where path.hasSuffix(".swift") {
            out.append((path, try String(contentsOfFile: root + "/" + path, encoding: .utf8)))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// `text` without its comments (line comments and doc comments), so that a comment naming
    /// a type is not a dependency.
    static func code(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            guard let r = line.range(of: "//") else { return line }
            return line[..<r.lowerBound]
        }.joined(separator: "\n")
    }

    /// The folders from the top (the commands) down to the system calls and the byte helpers,
    /// as the README's "Layout" lists them; `Entry.swift` is the module's root.
    static let order = ["Entry.swift", "Rehearsal", "Reporting", "Driver", "Log", "Supervisor", "CommandLine",
                        "PodSpec", "HTTP", "Plan", "System", "Support"]

    static func folder(_ path: String) -> String { String(path.split(separator: "/")[0]) }

    /// Each type's folder, by its name: the types declared in one folder only (a nested name
    /// such as `Container`, declared in two, says nothing about who uses which).
    static func typeFolders(_ files: [(path: String, text: String)]) throws -> [String: String] {
        let declaration = try NSRegularExpression(
            pattern: #"(?m)^\s*(?:public |private |fileprivate )?(?:final class|class|struct|enum|protocol|typealias) ([A-Za-z_][A-Za-z0-9_]*)"#)
        var folders: [String: Set<String>] = [:]
        for (path, text) in files {
            let code = Self.code(text) as NSString
            for m in declaration.matches(in: code as String, range: NSRange(location: 0, length: code.length)) {
                folders[code.substring(with: m.range(at: 1)), default: []].insert(Self.folder(path))
            }
        }
        return folders.compactMapValues { $0.count == 1 ? $0.first : nil }
    }

    @Test func eachFolderUsesOnlyTheTypesOfTheFoldersBelowIt() throws {
        let files = try Self.sources()
        let owner = try Self.typeFolders(files)
        #expect(Set(files.map { Self.folder($0.path) }) == Set(Self.order), "a folder is missing from `order`")
        let rank = Dictionary(uniqueKeysWithValues: Self.order.enumerated().map { ($1, $0) })
        let word = try NSRegularExpression(pattern: #"(?<![.A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*"#)
        var uses: [String] = []
        for (path, text) in files {
            let here = Self.folder(path)
            let code = Self.code(text) as NSString
            var seen: Set<String> = []
            for m in word.matches(in: code as String, range: NSRange(location: 0, length: code.length)) {
                let name = code.substring(with: m.range)
                guard let there = owner[name], there != here, seen.insert(name).inserted,
                      let a = rank[there], let b = rank[here], a < b else { continue }
                uses.append("\(path) uses \(name) of \(there)/")
            }
        }
        #expect(uses == [], "a folder uses a type of a folder above it: \(uses)")
    }

    @Test func onlySystemImportsTheCShim() throws {
        let files = try Self.sources()
        #expect(files.count > 40)
        var offenders: [String] = []
        for (path, text) in files where !path.hasPrefix("System/") && Self.shimImportersOutsideSystem[path] == nil {
            if Self.code(text).split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "import CUsher" }) {
                offenders.append(path)
            }
        }
        #expect(offenders == [], "outside System/, these import the C shim: \(offenders)")
    }

    @Test func systemDependsOnNothingAboveIt() throws {
        let files = try Self.sources()
        // The types declared above System/ (and above Support/, which every layer may use).
        let declaration = try NSRegularExpression(
            pattern: #"(?m)^\s*(?:public |private |fileprivate )?(?:final class|class|struct|enum|protocol|typealias) ([A-Za-z_][A-Za-z0-9_]*)"#)
        var above: Set<String> = []
        for (path, text) in files where !path.hasPrefix("System/") && !path.hasPrefix("Support/") {
            let ns = text as NSString
            for m in declaration.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                above.insert(ns.substring(with: m.range(at: 1)))
            }
        }
        #expect(above.contains("Plan") && above.contains("Supervisor"))
        let word = try NSRegularExpression(pattern: #"[A-Za-z_][A-Za-z0-9_]*"#)
        var uses: [String] = []
        for (path, text) in files where path.hasPrefix("System/") {
            let code = Self.code(text)
            let ns = code as NSString
            var seen: Set<String> = []
            for m in word.matches(in: code, range: NSRange(location: 0, length: ns.length)) {
                let name = ns.substring(with: m.range)
                if above.contains(name) && seen.insert(name).inserted { uses.append("\(path) uses \(name)") }
            }
        }
        #expect(uses == [], "System/ must not depend on the layers above it: \(uses)")
    }
}
