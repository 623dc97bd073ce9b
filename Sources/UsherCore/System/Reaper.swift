import CUsher

/// Reaps every child that has exited: its own children and, as PID 1 or as a child subreaper,
/// every orphan reparented to usher. SIGCHLD coalesces, so one SIGCHLD may stand for many
/// exits: waitpid(-1, WNOHANG) runs until nothing is left.
func reapAll(_ each: (Int32, ExitStatus) -> Void) {
    var status: Int32 = 0
    while true {
        let pid = retryingEINTR { cusher_sys_reap(&status) }
        if pid <= 0 { return }  // 0: children remain, none exited; -1/ECHILD: no children
        if cusher_wifexited(status) != 0 {
            each(pid, .exited(cusher_wexitstatus(status)))
        } else if cusher_wifsignaled(status) != 0 {
            each(pid, .signaled(cusher_wtermsig(status)))
        }
    }
}

/// Makes usher the reaper of its orphaned descendants when it is not PID 1, so that
/// `usher -- app` on a laptop behaves as it does in a container.
func becomeSubreaper() {
    _ = cusher_set_child_subreaper()
}

/// True while the process group `pgid` still has a member (signal 0 checks without sending).
/// Only asked right after usher reaped the group's leader, before anything else can run here.
func groupHasMembers(_ pgid: Int32) -> Bool {
    kill(-pgid, 0) == 0
}

/// The children usher has now (orphans reparented to it included), from
/// /proc/self/task/<pid>/children; none without /proc.
func ownChildren() -> [Int32] {
    guard case .success(let bytes) = readWholeFile("/proc/self/task/\(getpid())/children") else { return [] }
    var children: [Int32] = []
    for word in splitBytes(bytes[...], 32) {
        if let pid = plainDecimal(word, maxDigits: 9), pid > 0 { children.append(Int32(pid)) }
    }
    return children
}

/// The process group of `pid` (-1 when it is gone).
func processGroup(of pid: Int32) -> Int32 {
    getpgid(pid)
}

/// Waits for child `pid` to end and reaps it (after a SIGKILL: it does not wait long).
func reapChild(_ pid: Int32) {
    var status: Int32 = 0
    _ = retryingEINTR { waitpid(pid, &status, 0) }
}

/// Sleeps `nanos` (for after the shutdown only: the event loop never sleeps).
func pause(nanos: Nanos) {
    var pause = timespec(tv_sec: Int(nanos / nanosPerSecond), tv_nsec: Int(nanos % nanosPerSecond))
    _ = nanosleep(&pause, nil)
}

/// Kills what is left of the process groups `started` (each led by a process usher started and
/// has reaped), and with `sessions` (each leader led a session of the same number too: see
/// `EventLoop.sessionPerChild`) every other group of those sessions, whose members left the
/// leader's group (setpgid) but cannot have left the session without a setsid of their own.
/// Returns how many processes were left that were not already dying: neither a zombie nor one
/// with SIGKILL pending in its own set, which the kernel sets on every thread of a process it is
/// ending for a fatal signal (a member dying of the stop signal it got with its leader is not
/// "left behind").
///
/// A group that one of `sparing` (processes usher tracks: other containers' leaders) has joined
/// (setpgid, possible only within a shared session, with a terminal, so then there is no session
/// to look through) is left alone: that process gets its own stop signal and deadline, not this
/// container's end.
///
/// Safe from pid reuse: Linux does not hand out the number of a group or a session while it has a
/// member, so kill(-pgid) reaches only that group while it has one (and no one, ESRCH, once it
/// has none); each other group is one found in a session in /proc just before it is killed.
/// kill(-pgid) reaches every member atomically, children forked meanwhile included; a session
/// has no such call, so a member that makes a new group of the session after the /proc scan is
/// missed. Without sessions only the groups apply, and the scan is skipped when they are empty.
/// The scan reads /proc/PID/stat of every process usher can see: the container's few as PID 1; a
/// whole machine's (a few milliseconds) as a subreaper. It runs once per container run that
/// ends outside the shutdown, and once as a subreaper exits, never while usher is idle.
///
/// Plain loops over bytes and Int32s, no closures or string building: the Embedded build would
/// specialize each of those for this one caller.
func killLeftovers(_ started: [Int32], sessions: Bool, sparing: [Int32?]) -> Int {
    var groups: [Int32] = []
    for g in started where g > 1 && (sessions || groupHasMembers(g)) {
        var joined = false
        for case let pid? in sparing where getpgid(pid) == g { joined = true }
        if !joined { groups.append(g) }
    }
    guard !groups.isEmpty else { return 0 }
    // The groups so far are the sessions too (their leaders led both); others are appended.
    let sessionCount = sessions ? groups.count : 0
    var left = 0
    if let dir = opendir("/proc") {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while let entry = readdir(dir) {
            // "PID/stat" beneath /proc, in `buffer`; a name not all digits is no process.
            var k = withUnsafeBytes(of: &entry.pointee.d_name) { name -> Int in
                var k = 0
                while k < 12 && name[k] >= 48 && name[k] <= 57 {
                    buffer[k] = name[k]
                    k += 1
                }
                return k > 0 && name[k] == 0 ? k : 0
            }
            guard k > 0 else { continue }
            for b: UInt8 in [47, 115, 116, 97, 116, 0] {  // "/stat"
                buffer[k] = b
                k += 1
            }
            let fd = buffer.withUnsafeBytes { cusher_openat(dirfd(dir), $0.baseAddress!.assumingMemoryBound(to: CChar.self), O_RDONLY, 0) }
            guard fd >= 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
            close(fd)
            // The fields after the name (from the last ')'), from field 3 (the state letter):
            // 5 pgrp, 6 session, 31 signal (its own pending signals, a decimal bit mask).
            k = n
            while k > 0 && buffer[k - 1] != 41 { k -= 1 }
            guard k > 0 else { continue }
            var field = 2, group: Int32 = 0, session: Int32 = 0, state: UInt8 = 0
            var value: Int64 = 0
            while k < n && field <= 31 {
                let b = buffer[k]
                k += 1
                if b == 32 {
                    if field == 5 { group = Int32(truncatingIfNeeded: value) }
                    if field == 6 { session = Int32(truncatingIfNeeded: value) }
                    field += 1
                    if field <= 31 { value = 0 }
                } else if field == 3 {
                    state = b
                } else if b >= 48 && b <= 57 {
                    value = value &* 10 &+ Int64(b - 48)
                }
            }
            guard field > 31 else { continue }
            var known = false, inSession = false
            for j in 0..<groups.count {
                if groups[j] == group { known = true }
                if j < sessionCount && groups[j] == session { inSession = true }
            }
            guard known || inSession else { continue }
            // Not already dying: Z, X, or SIGKILL pending (`value` holds field 31).
            if state != 90 && state != 88 && value & (1 << (Int64(sigkill) - 1)) == 0 { left += 1 }
            if !known { groups.append(group) }
        }
        closedir(dir)
    }
    for g in groups where g > 1 { signalGroup(g, sigkill) }
    return left
}
