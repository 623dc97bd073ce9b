import CUsher

/// usher owns every signal: it blocks them all and reads them from a signalfd in its event loop,
/// so none is lost and none interrupts a system call. (Blocking is also what lets a signal from
/// outside reach usher when it is PID 1 of a namespace: a blocked signal is queued even for init.)
struct SignalSource {
    let fd: Int32

    /// Blocks all signals except the synchronous ones (a crash must stay a crash) and the ones
    /// usher ignores, and opens the signalfd.
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
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS] + ignored { sigdelset(&mask, sig) }
        guard sigprocmask(SIG_SETMASK, &mask, nil) == 0 else { throw SystemError("sigprocmask") }
        let fd = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd") }
        return SignalSource(fd: fd)
    }

    /// Reads every pending signal. Standard signals coalesce while pending (POSIX); the kernel
    /// keeps one of each, and so does this. Up to 16 at a time, and a short read means nothing
    /// more is pending, so one signal costs one read, not a second one that says EAGAIN.
    func drain() -> [Int32] {
        var out: [Int32] = []
        let size = MemoryLayout<signalfd_siginfo>.stride
        var infos = [signalfd_siginfo](repeating: signalfd_siginfo(), count: 16)
        while true {
            let n = infos.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
            if n < size { break }
            for i in 0..<(n / size) { out.append(Int32(bitPattern: infos[i].ssi_signo)) }
            if n < size * infos.count { break }
        }
        return out
    }
}

/// Sends `signal` to the process group led by `pgid`. ESRCH (nobody left) is not an error.
func signalGroup(_ pgid: Int32, _ signal: Int32) {
    _ = kill(-pgid, signal)
}

/// Sends `signal` to one process. ESRCH is not an error.
func signalProcess(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
