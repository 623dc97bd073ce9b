import CUsher

/// usher owns every signal: it blocks them all and reads them from a signalfd in its event loop,
/// so none is lost and none interrupts a system call. (Blocking is also what lets a signal from
/// outside reach usher when it is PID 1 of a namespace: a blocked signal is queued even for init.)
struct SignalSource {
    let fd: Int32
    /// drain's read buffer, allocated once for usher's lifetime: 16 siginfos are 2 KB, which
    /// musl's allocator maps and unmaps on every use (two more system calls per signal). A global
    /// (usher has one thread), so that LeakSanitizer sees it reachable at exit.
    nonisolated(unsafe) private static let storage = UnsafeMutableBufferPointer<signalfd_siginfo>.allocate(capacity: capacity)
    private static var capacity: Int { 16 }
    /// The same buffer, taken from the global at start-up. A global like `storage` is
    /// initialised lazily, at its first use: that was the first signal's read, which then paid
    /// for musl's first allocation of that size (a new group of slots: alloc_slot, an mmap and
    /// the page faults of fresh memory) on its way to the main process. Read here, it is
    /// allocated in `takeOver`, and each drain reads a stored pointer instead of going
    /// through the global's once-check.
    let buffer: UnsafeMutableBufferPointer<signalfd_siginfo>

    /// Blocks every signal but the three usher ignores, and opens the signalfd.
    static func takeOver() throws(SystemError) -> SignalSource {
        // SIGTTIN/SIGTTOU: usher writes its log to a terminal it may have handed to the main
        // process; as tini does, it ignores job-control stops. SIGPIPE: a closed stderr must not
        // kill PID 1; write() reports EPIPE instead. These three must also stay unblocked: the
        // kernel never discards a blocked signal as ignored (the handler could change before it
        // is unblocked), so blocked they would be queued, read from the signalfd and forwarded
        // to the main process. Children get default dispositions back (posix_spawn's SETSIGDEF),
        // so ignoring here does not leak into them.
        let ignored = [SIGTTIN, SIGTTOU, SIGPIPE]
        for sig in ignored { _ = cusher_ignore_signal(sig) }
        var mask = sigset_t()
        sigfillset(&mask)
        // The fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS) are
        // blocked too, so that one sent from outside (`kill -ABRT`, sigqueue) is read here and
        // forwarded like any other, as dumb-init does: left at their default action, PID 1 would
        // never see them (the kernel drops them for init) and usher not as PID 1 would die of
        // them and leave its children unsupervised. A fault usher causes itself still kills it:
        // the kernel delivers a synchronous fault (and abort()'s own SIGABRT, which libc
        // unblocks first) by force, unblocking it and resetting it to its default action.
        for sig in ignored { sigdelset(&mask, sig) }
        guard cusher_block_with_internal_signals(&mask) == 0 else { throw SystemError("rt_sigprocmask") }
        // Blocking: the driver reads it either after epoll reported it readable (the read
        // returns at once) or, when nothing else can wake usher, instead of epoll (`wait`).
        let fd = signalfd(-1, &mask, Int32(SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd") }
        let buffer = storage
        buffer.initialize(repeating: signalfd_siginfo())  // its pages touched now, not at the first signal
        return SignalSource(fd: fd, buffer: buffer)
    }

    /// Reads pending signals, up to 16: one read, which costs one signal one system call. More
    /// pending keep the signalfd readable, and the loop comes back for them after handling
    /// these: a storm of queued real-time signals never keeps usher from the rest of its work.
    /// The kernel hands out the lowest-numbered pending signal first, so a SIGTERM is read
    /// before any real-time signal queued ahead of it. Standard signals coalesce while pending
    /// (POSIX); the kernel keeps one of each, and so does this.
    /// Returns how many were read; `signal(k)` is the k-th, until the next drain. Nothing is
    /// allocated: a forwarded signal costs no heap.
    /// Also what `wait` does: the same read, which on this blocking descriptor waits for a
    /// signal when none is pending.
    /// An interrupted read (EINTR: not expected, usher has no signal handlers) returns 0, and
    /// the loop reads again.
    func drain() -> Int {
        let size = MemoryLayout<signalfd_siginfo>.stride
        let n = cusher_sys_read(fd, buffer.baseAddress, UInt(Self.capacity * size))
        return n >= size ? Int(UInt(bitPattern: n) / UInt(size)) : 0  // unsigned: a shift, not idiv
    }

    func signal(_ k: Int) -> Int32 { Int32(bitPattern: buffer[k].ssi_signo) }
}

/// Sends `signal` to the process group led by `pgid`. ESRCH (nobody left) is not an error.
func signalGroup(_ pgid: Int32, _ signal: Int32) {
    _ = kill(-pgid, signal)
}

/// Sends `signal` to one process. ESRCH is not an error.
func signalProcess(_ pid: Int32, _ signal: Int32) {
    _ = cusher_sys_kill(pid, signal)
}

/// Sends `signal` to a child usher started and has not reaped: to the process group it was
/// started as the leader of (so a shell's children get it too), and to the child itself when it
/// has left that group (`setpgid` into another group of its session), so that its stop signal
/// and the deadline's SIGKILL reach it wherever it went. Safe from pid reuse: the child is
/// unreaped, so its pid is its own, and the group's number stays reserved while the group has a
/// member or its leader exists.
func signalTracked(_ pid: Int32, _ signal: Int32) {
    _ = kill(-pid, signal)
    if getpgid(pid) != pid { _ = kill(pid, signal) }
}

/// The highest signal number of this system (SIGRTMAX: a macro over a libc call).
func realtimeSignalMax() -> Int32 {
    cusher_sigrtmax()
}
