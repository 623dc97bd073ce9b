import CUsher

/// How to start one child: its command and what it runs as, and where its output goes (the
/// driver makes one from a plan's process: `Launch(process)`).
struct Launch {
    var argv: [String]
    /// The command as messages name it: as written, when `$(VAR)` expansion changed it, so
    /// that an expanded value (perhaps a secret) never reaches the log.
    var shownCommand: String
    /// The environment it gets as a C array: its container's (`Environment`, composed once per
    /// start, whose owner keeps it alive until the spawn has returned); nil for usher's own.
    var environment: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    var workingDir: String?
    var user: UInt32?
    var group: UInt32?
    var noNewPrivileges = false
    /// Take the terminal on stdin as its foreground process group.
    var foreground = false
    /// Lead a session of its own, not only a process group (see `EventLoop.sessionPerChild`).
    var newSession = false
    /// Its stdout and stderr, instead of usher's own.
    var output: (Int32, Int32)?
    /// `output` is a pair of pipes opened for this child alone: usher closes its copies once
    /// the child is started.
    var outputIsPipes = false

    /// The directory usher was started in (the image's WORKDIR), where a child without a
    /// `workingDir` of its own starts. usher itself moves to `/` once it has noted this, so
    /// that it does not keep a mount busy for its whole life (as dumb-init and catatonit do);
    /// nil while usher has not moved (then children inherit its directory as before).
    nonisolated(unsafe) static var startDirectory: String?

    init(argv: [String]) {
        self.argv = argv
        shownCommand = argv.first ?? ""
    }
}

/// Starts a child: an empty signal mask and default dispositions (usher blocks and ignores
/// signals, and children must not inherit that), its own process group (so a stop signal to the
/// group reaches a shell's children too; with `newSession`, its own session too), and usher's
/// environment with the process's own laid over it. With `foreground`, the child also takes the
/// terminal on stdin as its foreground process group, in the child before exec, so `docker run
/// -it` and Ctrl-C reach the app as with tini; the child runs with all signals blocked until
/// exec, so that tcsetpgrp from a background group cannot be stopped by SIGTTOU.
/// posix_spawn does all that with one clone that shares usher's memory, so it is the path for
/// every child that does not need a working directory of its own or another user; those fork
/// (see cusher_spawn_as). Either way a child without a working directory starts in the one usher
/// was started in (`Launch.startDirectory`).
func spawn(_ launch: Launch) -> Result<Int32, SpawnFailure> {
    // Every byte as the user gave it (see OSString).
    var cArgs: [UnsafeMutablePointer<CChar>?] = launch.argv.map { OSString.cString($0) }
    cArgs.append(nil)
    defer { for p in cArgs { p?.deallocate() } }
    // Composed before (see Environment): a spawn only hands the array on.
    let envp = launch.environment ?? cusher_environ()

    var pid: Int32 = 0
    if cusher_spawn_needs_vfork() != 0 || launch.workingDir != nil || launch.user != nil || launch.group != nil
        || launch.noNewPrivileges {
        var step: Int32 = 0
        let dir = (launch.workingDir ?? Launch.startDirectory).map { OSString.cString($0) }
        defer { dir?.deallocate() }
        let rc = cusher_spawn_as(
            cArgs[0]!, &cArgs, envp, dir, launch.user.map { Int64($0) } ?? -1,
            launch.group.map { Int64($0) } ?? -1, launch.noNewPrivileges ? 1 : 0, launch.foreground ? 1 : 0,
            launch.newSession ? 1 : 0, launch.output?.0 ?? -1, launch.output?.1 ?? -1, &pid, &step)
        if rc == 0 { return .success(pid) }
        switch step {
        case 0, 5: return .failure(execFailure(launch.shownCommand, rc))  // 5: vfork (EAGAIN, ENOMEM)
        case 1: return .failure(SpawnFailure(code: 126, reason: "cannot change to working directory \(launch.workingDir ?? ""): \(errorText(rc))"))
        case 6: return .failure(SpawnFailure(code: 126, reason: "cannot set no_new_privs: \(errorText(rc))"))
        case 2, 3, 4:
            let who = "user \(launch.user.map { "\($0)" } ?? "-"), group \(launch.group.map { "\($0)" } ?? "-")"
            return .failure(SpawnFailure(code: 126, reason: "cannot switch to \(who): \(errorText(rc))"))
        default: return .failure(SpawnFailure(code: 126, reason: "cannot start \(launch.shownCommand): \(errorText(rc))"))
        }
    }

    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attr, &empty)
    var all = sigset_t()
    cusher_sigset_every_signal(&all)
    posix_spawnattr_setsigdefault(&attr, &all)
    // A new session makes a new group too (and setpgid after setsid would fail).
    let group = launch.newSession ? cusher_spawn_setsid_flag() : Int16(POSIX_SPAWN_SETPGROUP)
    posix_spawnattr_setpgroup(&attr, 0)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | group)

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if launch.foreground { _ = cusher_spawn_add_tcsetpgrp(&actions, 0) }
    let dir = Launch.startDirectory.map { OSString.cString($0) }
    defer { dir?.deallocate() }
    if let dir { _ = cusher_spawn_add_chdir(&actions, dir) }
    if let (out, err) = launch.output {
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, err, 2)
    }

    let rc = posix_spawnp(&pid, cArgs[0]!, &actions, &attr, &cArgs, envp)
    if rc == 0 { return .success(pid) }
    return .failure(execFailure(launch.shownCommand, rc))
}

/// 127 for a command that is not there, 126 for one that cannot be run, as shells do.
@inline(never)  // size: shared
private func execFailure(_ command: String, _ rc: Int32) -> SpawnFailure {
    if rc == ENOENT || rc == ENOTDIR {
        return SpawnFailure(code: 127, reason: "command not found: \(command)")
    }
    if rc == EAGAIN || rc == ENOMEM {
        return SpawnFailure(code: 126, reason: "cannot start \(command) now: \(errorText(rc)) (out of processes or memory)")
    }
    return SpawnFailure(code: 126, reason: "cannot execute \(command): \(errorText(rc))")
}

/// Writes `value` to /proc/PID/oom_score_adj of a child usher just started (a vfork'd child has
/// exec'd by then; raising the value needs no privilege). A failure changes nothing else.
func setOOMScoreAdj(_ pid: Int32, _ value: Int32) {
    _ = writeProcFile("/proc/\(pid)/oom_score_adj", "\(value)\n")
}

/// usher's own environment as the C array it was started with.
func inheritedEnvironment() -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    cusher_environ()
}
