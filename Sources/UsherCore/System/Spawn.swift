import CUsher

/// How to start one child: what `Plan.Process` says about it, plus where its output goes.
struct Launch {
    var argv: [String]
    /// `NAME=value` entries laid over usher's own environment.
    var env: [String] = []
    var workingDir: String?
    var user: UInt32?
    var group: UInt32?
    var noNewPrivileges = false
    /// Take the terminal on stdin as its foreground process group.
    var foreground = false
    /// Its stdout and stderr, instead of usher's own.
    var output: (Int32, Int32)?

    init(argv: [String]) { self.argv = argv }

    init(_ process: Plan.Process, argv: [String]? = nil) {
        self.argv = argv ?? process.argv
        env = process.env
        workingDir = process.workingDir
        user = process.user
        group = process.group
        noNewPrivileges = process.noNewPrivileges
    }
}

/// Starts a child: an empty signal mask and default dispositions (usher blocks and ignores
/// signals, and children must not inherit that), its own process group (so a stop signal to the
/// group reaches a shell's children too), and usher's environment with the process's own laid
/// over it. With `foreground`, the child also takes the terminal on stdin as its foreground
/// process group, in the child before exec, so `docker run -it` and Ctrl-C reach the app as with
/// tini; the child runs with all signals blocked until exec, so that tcsetpgrp from a background
/// group cannot be stopped by SIGTTOU.
/// posix_spawn does all that with one clone that shares usher's memory, so it is the path for
/// every child that does not need a working directory or another user; those fork (see
/// cusher_spawn_as).
func spawn(_ launch: Launch) -> Result<Int32, SpawnFailure> {
    var cArgs: [UnsafeMutablePointer<CChar>?] = launch.argv.map { strdup($0) }
    cArgs.append(nil)
    defer { for p in cArgs { free(p) } }
    // The environment as a C array that lives until the child has been started.
    var envp = cusher_environ()
    var ownEnv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    if !launch.env.isEmpty {
        let entries = environment(overriddenBy: launch.env)
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: entries.count + 1)
        for (k, entry) in entries.enumerated() { array[k] = strdup(entry) }
        array[entries.count] = nil
        ownEnv = array
        envp = array
    }
    defer {
        if let ownEnv {
            var p = ownEnv
            while let entry = p.pointee { free(entry); p += 1 }
            ownEnv.deallocate()
        }
    }

    var pid: Int32 = 0
    if cusher_spawn_needs_vfork() != 0 || launch.workingDir != nil || launch.user != nil || launch.group != nil
        || launch.noNewPrivileges {
        var step: Int32 = 0
        let rc = cusher_spawn_as(
            cArgs[0]!, &cArgs, envp, launch.workingDir, launch.user.map { Int64($0) } ?? -1,
            launch.group.map { Int64($0) } ?? -1, launch.noNewPrivileges ? 1 : 0, launch.foreground ? 1 : 0,
            launch.output?.0 ?? -1, launch.output?.1 ?? -1, &pid, &step)
        if rc == 0 { return .success(pid) }
        switch step {
        case 0, 5: return .failure(execFailure(launch.argv[0], rc))  // 5: vfork (EAGAIN, ENOMEM)
        case 1: return .failure(SpawnFailure(code: 126, reason: "cannot change to working directory \(launch.workingDir ?? ""): \(errorText(rc))"))
        case 6: return .failure(SpawnFailure(code: 126, reason: "cannot set no_new_privs: \(errorText(rc))"))
        case 2, 3, 4:
            let who = "user \(launch.user.map { "\($0)" } ?? "-"), group \(launch.group.map { "\($0)" } ?? "-")"
            return .failure(SpawnFailure(code: 126, reason: "cannot switch to \(who): \(errorText(rc))"))
        default: return .failure(SpawnFailure(code: 126, reason: "cannot start \(launch.argv[0]): \(errorText(rc))"))
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
    posix_spawnattr_setpgroup(&attr, 0)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if launch.foreground { _ = cusher_spawn_add_tcsetpgrp(&actions, 0) }
    if let (out, err) = launch.output {
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, err, 2)
    }

    let rc = posix_spawnp(&pid, cArgs[0]!, &actions, &attr, &cArgs, envp)
    if rc == 0 { return .success(pid) }
    return .failure(execFailure(launch.argv[0], rc))
}

/// 127 for a command that is not there, 126 for one that cannot be run, as shells do.
private func execFailure(_ command: String, _ rc: Int32) -> SpawnFailure {
    if rc == ENOENT || rc == ENOTDIR {
        return SpawnFailure(code: 127, reason: "command not found: \(command)")
    }
    if rc == EAGAIN || rc == ENOMEM {
        return SpawnFailure(code: 126, reason: "cannot start \(command) now: \(errorText(rc)) (out of processes or memory)")
    }
    return SpawnFailure(code: 126, reason: "cannot execute \(command): \(errorText(rc))")
}

/// usher's environment with each `NAME=value` of `overrides` replacing the variable of that name
/// (or added), in Kubernetes' order: the image's variables, then the container's.
func environment(overriddenBy overrides: [String]) -> [String] {
    func name(_ entry: String) -> ArraySlice<UInt8> {
        let bytes = Array(entry.utf8)[...]
        return bytes.firstIndex(of: 61).map { bytes[..<$0] } ?? bytes
    }
    let replaced = overrides.map(name)
    var out: [String] = []
    if var p = cusher_environ() {
        while let entry = p.pointee {
            let text = String(cString: entry)
            let n = name(text)
            if !replaced.contains(where: { $0.elementsEqual(n) }) { out.append(text) }
            p += 1
        }
    }
    // A later entry for the same name wins, as in Kubernetes.
    for (k, entry) in overrides.enumerated()
    where !replaced[(k + 1)...].contains(where: { $0.elementsEqual(replaced[k]) }) {
        out.append(entry)
    }
    return out
}

/// True when stdin is a terminal whose foreground process group is usher's own: then the main
/// process should take it over. (usher in the background of an interactive shell must not steal
/// the terminal from it, and a terminal that is not usher's controlling one cannot be handed on.)
func ownsForegroundTerminal() -> Bool {
    guard isatty(0) == 1 else { return false }
    let fg = tcgetpgrp(0)
    return fg >= 0 && fg == getpgrp()
}
