import CUsher

/// Starts a child with posix_spawn: an empty signal mask and default dispositions (usher blocks
/// and ignores signals, and children must not inherit that), its own process group (so a stop
/// signal to the group reaches a shell's children too), and usher's environment. With
/// `foreground`, the child also takes the terminal on stdin as its foreground process group, in
/// the child before exec, so `docker run -it` and Ctrl-C reach the app as with tini; glibc's
/// child runs with all signals blocked until exec, so that tcsetpgrp from a background group
/// cannot be stopped by SIGTTOU.
/// With `output`, the child's stdout and stderr are those two descriptors (pipe ends for
/// `--prefix`) instead of usher's own.
func spawn(_ argv: [String], foreground: Bool, output: (Int32, Int32)? = nil) -> Result<Int32, SpawnFailure> {
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
    if foreground { _ = cusher_spawn_add_tcsetpgrp(&actions, 0) }
    if let (out, err) = output {
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, err, 2)
    }

    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
    cArgs.append(nil)
    defer { for p in cArgs { free(p) } }

    var pid: Int32 = 0
    let rc = posix_spawnp(&pid, cArgs[0]!, &actions, &attr, &cArgs, cusher_environ())
    if rc == 0 { return .success(pid) }
    let command = argv[0]
    if rc == ENOENT || rc == ENOTDIR {
        return .failure(SpawnFailure(code: 127, reason: "command not found: \(command)"))
    }
    return .failure(SpawnFailure(code: 126, reason: "cannot execute \(command): \(errorText(rc))"))
}

/// True when stdin is a terminal whose foreground process group is usher's own: then the main
/// process should take it over. (usher in the background of an interactive shell must not steal
/// the terminal from it, and a terminal that is not usher's controlling one cannot be handed on.)
func ownsForegroundTerminal() -> Bool {
    guard isatty(0) == 1 else { return false }
    let fg = tcgetpgrp(0)
    return fg >= 0 && fg == getpgrp()
}
