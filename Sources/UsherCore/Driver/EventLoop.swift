/// What lives for the whole of usher's process, whatever runs on it: the signalfd, the timer, the
/// poller, the output pipes, and what usher learned about the process it was started as. A run
/// (`Driver`) uses it; a rehearsal is a series of runs on one event loop.
///
/// A class: each run's driver and performer use it in turn, and usher's exit (the last flush
/// of the output, the sweep of what is left) comes after the last run, whichever it was.
final class EventLoop {
    let signals: SignalSource
    var timer: Timer
    let poller: Poller
    var outputs = OutputPipes()
    /// usher is PID 1 (else it makes itself a subreaper).
    let isInit: Bool
    /// usher holds the foreground of its terminal: the first main container takes it on.
    let foreground: Bool
    /// Every process, hook and exec probe leads a session of its own, as the container runtime
    /// starts each container's process and each `exec` (runc's nsexec calls setsid), when usher
    /// has no controlling terminal to share. With one (an interactive run, `docker run -t`), they
    /// stay in usher's session: the main container can then take the terminal, and any child
    /// may use it.
    let sessionPerChild: Bool
    /// Where children's stdout goes: usher's stdout, or in a rehearsal its stderr, so that
    /// stdout holds the report alone (and `--format json` stays parseable).
    let childStdout: Int32
    /// Where an exec probe's output goes: /dev/null (opened at the first such probe), as the
    /// kubelet keeps it out of the logs.
    private(set) var devNull: Int32 = -2
    /// The memory cgroup, whose oom_kill count is read at every reap.
    var memory: MemoryCgroup?
    /// Every process group usher started that may still have members (a group is dropped once
    /// it has none, when a container's leftovers are killed): what is left of them is killed
    /// when usher exits as a subreaper.
    var startedGroups: [Int32] = []

    /// How long usher's exit waits at most for a full stdout or stderr to take what is left.
    static var finalFlushLimit: Nanos { nanosPerSecond }

    init(childStdout: Int32 = 1) throws(SystemError) {
        signals = try SignalSource.takeOver()
        timer = try Timer()
        poller = try Poller()
        try poller.add(signals.fd, token: PollerToken.signals)
        try poller.add(timer.fd, token: PollerToken.timer)
        self.childStdout = childStdout
        memory = MemoryCgroup.own()
        isInit = isProcessOne()
        if !isInit { becomeSubreaper() }
        foreground = ownsForegroundTerminal()
        sessionPerChild = !foreground && !hasControllingTerminal()
        leaveStartDirectory()
    }

    /// /dev/null for an exec probe's output; negative when it cannot be opened.
    func nullDevice() -> Int32 {
        if devNull == -2 { devNull = openForWriting("/dev/null") }
        return devNull
    }

    /// The output still queued for a full stdout or stderr, given `finalFlushLimit` to go.
    func flushOutputs() {
        outputs.finish(until: later(monotonicNow(), by: Self.finalFlushLimit))
    }

    /// When usher is PID 1, the kernel kills everything left in the namespace as it exits. As a
    /// subreaper on a laptop, usher does the same for the process groups it started, in every
    /// run, and their sessions (what a run left was killed as its leader was reaped, except in
    /// the shutdown; this catches the rest), so that nothing outlives it there either. A group
    /// whose leader has been reaped is no longer pinned once it has no member: its number could
    /// in principle be reused, but only after the kernel's pid counter wraps around and only by
    /// a process that makes itself a group leader; groups found empty are dropped as containers
    /// end, and the window left is accepted here, as tini accepts it.
    func sweepLeftovers() {
        guard !isInit else { return }
        _ = killLeftovers(startedGroups, sessions: sessionPerChild, sparing: [])
    }
}
