import Foundation
import Testing
@testable import UsherCore

/// Whom an OOM kill is credited to: the cgroup's oom_kill count is the whole container's, so the
/// supervisor names a process only when the growth was seen at that process's own death, a SIGKILL
/// usher did not send; any other growth is "an OOM kill in the container". The driver reads the
/// count at every reap, so a growth seen at an untracked death is never carried on to a later
/// SIGKILL death.
@Suite struct OOMAttribution {
    let v2 = MemoryLimit("67108864", cgroupV1: false)

    func oomRecords(_ h: Harness, since mark: Int = 0) -> [LogRecord] {
        h.logs(since: mark).filter {
            switch $0 {
            case .oomKilled, .oomKillInContainer: return true
            default: return false
            }
        }
    }

    @Test func aGrowthSeenAtAChildsOwnSigkillDeathNamesIt() {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        h.send(.oomKills(limit: v2, reaped: 1, .signaled(sigkill)))
        h.send(.exited(1, .signaled(sigkill)))
        let logs = h.logs(since: mark)
        #expect(logs.first == .oomKilled(name: "b", pid: 101, limit: v2), "named, before its exit line")
        #expect(oomRecords(h, since: mark).count == 1)
    }

    @Test func aGrowthSeenAtAnUntrackedDeathNamesNoProcessAndALaterKill9IsNoOOM() {
        var h = Harness(twoSidecars())
        let mark = h.actions.count
        // A worker of the main, reparented to usher, reaped: the count grew there.
        h.send(.oomKills(limit: v2, reaped: nil, .signaled(sigkill)))
        #expect(oomRecords(h, since: mark) == [.oomKillInContainer(limit: v2)])
        // Later an operator's kill -9 of a sidecar: the count did not grow at its reap.
        h.send(.exited(0, .signaled(sigkill)))
        #expect(oomRecords(h, since: mark) == [.oomKillInContainer(limit: v2)])
        #expect(h.logs(since: mark).contains { if case .exited(name: "a", _, .signaled(sigkill), _, _, _, _) = $0 { true } else { false } })
    }

    @Test func aGrowthAtAnExitThatWasNoSigkillNamesNoProcess() {
        for status: UsherCore.ExitStatus in [.exited(0), .exited(137), .signaled(sigterm)] {
            var h = Harness(twoSidecars())
            let mark = h.actions.count
            h.send(.oomKills(limit: nil, reaped: 0, status))
            h.send(.exited(0, status))
            #expect(oomRecords(h, since: mark) == [.oomKillInContainer(limit: nil)], "\(status.description)")
        }
    }

    @Test func usherOwnSigkillAtTheDeadlineIsNoOOM() {
        var h = Harness(twoSidecars(grace: 5 * second))
        h.send(.signal(sigterm))
        h.advance(to: 5 * second)
        #expect(h.signals().contains(.signalGroup(2, sigkill)))
        let mark = h.actions.count
        h.send(.oomKills(limit: v2, reaped: 2, .signaled(sigkill)))
        h.send(.exited(2, .signaled(sigkill)))
        #expect(oomRecords(h, since: mark) == [.oomKillInContainer(limit: v2)])
    }

    @Test func usherOwnSigkillAfterAFailedLivenessProbesGraceIsNoOOM() {
        var h = Harness(Plan(containers: [
            proc("proxy", .sidecar) { $0.livenessProbe = probe(failures: 1) },
            proc("app", .main),
        ], grace: 5 * second))
        h.probe(0, .liveness, passed: false, detail: "HTTP 500")
        h.advance(to: 6 * second)
        #expect(h.signals().last == .signalGroup(0, sigkill))
        let mark = h.actions.count
        h.send(.oomKills(limit: v2, reaped: 0, .signaled(sigkill)))
        h.send(.exited(0, .signaled(sigkill)))
        #expect(oomRecords(h, since: mark) == [.oomKillInContainer(limit: v2)])
        // Its next run is the OOM killer's again to name.
        let again = h.actions.count
        h.send(.oomKills(limit: v2, reaped: 0, .signaled(sigkill)))
        #expect(oomRecords(h, since: again) == [.oomKilled(name: "proxy", pid: 102, limit: v2)])
    }
}

/// The limit is named as its cgroup version names it.
@Suite struct MemoryLimitLabel {
    let t: Nanos = 1_795_417_331_120_000_000

    @Test func cgroupV1IsMemoryLimitInBytes() {
        let limit = MemoryLimit("67108864", cgroupV1: true)
        #expect(logText(.oomKilled(name: "app", pid: 7, limit: limit)) ==
            "app[7] was killed by the kernel's OOM killer (memory.limit_in_bytes 67108864)")
        #expect(logText(.oomKillInContainer(limit: limit)) == "an OOM kill in the container (memory.limit_in_bytes 67108864)")
        let json = logJSON(.oomKilled(name: "app", pid: 7, limit: limit), unixNanos: t)
        #expect(json.contains(#""memory_limit_in_bytes":"67108864""#) && !json.contains("memory_max"))
    }

    @Test func cgroupV2IsMemoryMax() {
        let limit = MemoryLimit("max", cgroupV1: false)
        #expect(logText(.oomKilled(name: "app", pid: 7, limit: limit)) == "app[7] was killed by the kernel's OOM killer (memory.max max)")
        #expect(logJSON(.oomKillInContainer(limit: limit), unixNanos: t)
            .contains(#""level":"error","event":"oom_kill_in_container","memory_max":"max","message":"an OOM kill in the container (memory.max max)""#))
        #expect(logText(.oomKillInContainer(limit: nil)) == "an OOM kill in the container")
    }

    /// The System side: each version's files, the count read again at each look (the file kept
    /// open), growth reported once, and the limit labelled by the version it was read from.
    @Test(arguments: [true, false])
    func theCgroupsFilesAndLabel(v1: Bool) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("usher-memcg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent(v1 ? "memory.oom_control" : "memory.events")
        func count(_ n: Int) throws {
            // Rewritten in place (not replaced): the open descriptor reads what a cgroup file
            // would show.
            let text = v1 ? "oom_kill_disable 0\nunder_oom 0\noom_kill \(n)\n"
                          : "low 0\nhigh 0\nmax 9\noom 4\noom_kill \(n)\noom_group_kill 0\n"
            let handle = try FileHandle(forWritingTo: events)
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
        FileManager.default.createFile(atPath: events.path, contents: nil)
        try count(3)
        try "67108864\n".write(to: dir.appendingPathComponent(v1 ? "memory.limit_in_bytes" : "memory.max"),
                               atomically: false, encoding: .utf8)
        var cg = try #require(MemoryCgroup(dir.path, v1: v1))
        #expect(cg.oomKills == 3)
        #expect(cg.grownCount() == nil, "no growth since it was opened")
        try count(4)
        #expect(cg.grownCount() == 4)
        #expect(cg.grownCount() == nil, "a growth is reported once")
        #expect(cg.limit == MemoryLimit("67108864", cgroupV1: v1))
        #expect(cg.limit?.file == (v1 ? "memory.limit_in_bytes" : "memory.max"))
        #expect(MemoryCgroup(dir.path, v1: !v1) == nil, "the other version's files are not there")
    }
}
