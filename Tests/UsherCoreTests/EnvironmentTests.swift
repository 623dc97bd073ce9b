import Testing
@testable import UsherCore

/// A container's environment: usher's own entries first, without those the container sets; then the
/// container's, the last entry of each name at its own position; env file entries laid in at their
/// positions. Composed in n log n, so that 20,000 entries cost milliseconds, not the seconds a scan
/// per entry took.
@Suite struct EnvironmentComposition {
    /// The entries a process gets, as text.
    func composed(inherited: [String], _ container: [String]) -> [String] {
        let name = { (entry: String) in Array(entry.utf8.prefix { $0 != 61 })[...] }
        let (i, c) = composeEnvironment(inherited: inherited.map(name), container: container.map(name))
        return i.map { inherited[$0] } + c.map { container[$0] }
    }

    @Test func aLaterEntryWinsAtItsOwnPosition() {
        #expect(composed(inherited: [], ["A=1", "B=2", "A=3", "C=4", "B=5"]) == ["A=3", "C=4", "B=5"])
        #expect(composed(inherited: [], ["A=1", "A=2", "A=3"]) == ["A=3"])
        #expect(composed(inherited: [], []) == [])
    }

    @Test func usherOwnEntriesComeFirstWithoutThoseTheContainerSets() {
        #expect(composed(inherited: ["PATH=/bin", "HOME=/root", "LANG=C"], ["HOME=/app", "X=1"])
                == ["PATH=/bin", "LANG=C", "HOME=/app", "X=1"])
        // usher's own duplicates stay as they are when the container does not set the name.
        #expect(composed(inherited: ["A=1", "A=2", "B=3"], ["B=4"]) == ["A=1", "A=2", "B=4"])
    }

    @Test func namesAreComparedWholeAndByteForByte() {
        #expect(composed(inherited: ["AB=1", "A=2", "a=3"], ["A=4", "ABC=5", "AB", "AB=6"])
                == ["a=3", "A=4", "ABC=5", "AB=6"])
        // An entry without `=` is named by all of it; an empty name is a name.
        #expect(composed(inherited: ["=x"], ["NOVALUE", "=y", "NOVALUE=1"]) == ["=y", "NOVALUE=1"])
    }

    @Test func theSameAsTheScanItReplacesOnManyEntries() {
        // Names repeat in a pattern, so that many have several entries in scattered places.
        let container = (0..<3000).map { "V\(($0 * 7919) % 1000)=\($0)" }
        let inherited = (0..<200).map { "V\($0 * 9)=usher" }
        let names = container.map { String($0.prefix { $0 != "=" }) }
        let scanned = container.indices.filter { k in !names[(k + 1)...].contains(names[k]) }.map { container[$0] }
        let kept = inherited.filter { e in !names.contains(String(e.prefix { $0 != "=" })) }
        #expect(composed(inherited: inherited, container) == kept + scanned)
    }

    @Test func envFileEntriesAreLaidInBeforeTheEntryAtTheirPosition() {
        let files: [(position: Int, entry: String)] = [(0, "F0=a"), (2, "F2=b"), (2, "F2=c"), (3, "END=d"), (9, "OUT=e")]
        #expect(layingIn(files, among: ["A=1", "B=2", "C=3"]) == ["F0=a", "A=1", "B=2", "F2=b", "F2=c", "C=3", "END=d"])
        #expect(layingIn([(0, "F=1")], among: []) == ["F=1"])
    }
}
