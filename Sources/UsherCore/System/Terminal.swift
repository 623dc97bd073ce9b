import CUsher

/// True when stdin is a terminal whose foreground process group is usher's own: then the main
/// process should take it over. (usher in the background of an interactive shell must not steal
/// the terminal from it, and a terminal that is not usher's controlling one cannot be handed on.)
func ownsForegroundTerminal() -> Bool {
    guard isatty(0) == 1 else { return false }
    let fg = tcgetpgrp(0)
    return fg >= 0 && fg == getpgrp()
}

/// True when usher has a controlling terminal (`/dev/tty` opens only then): an interactive run,
/// or a container started with a terminal (`docker run -t`).
func hasControllingTerminal() -> Bool {
    let fd = cusher_open_read("/dev/tty")
    if fd >= 0 { close(fd) }
    return fd >= 0
}

/// The process that held the terminal, leader of group `pgid`, has exited: the terminal goes
/// back to usher's own group, so that the next Ctrl-C reaches usher instead of a group that is
/// gone. Only when the terminal still belongs to that group: if the app handed it on, it stays.
/// usher ignores SIGTTOU, so it may do this from the background.
func takeTerminalBack(from pgid: Int32) {
    guard tcgetpgrp(0) == pgid else { return }
    // As PID 1 of a pid namespace whose parent started it (`unshare --fork` at a terminal),
    // usher's group belongs to the parent namespace and reads as 0 here: it then becomes the
    // leader of a group of its own in the same session, which it can hand the terminal to.
    if getpgrp() == 0 { _ = setpgid(0, 0) }
    _ = tcsetpgrp(0, getpgrp())
}
