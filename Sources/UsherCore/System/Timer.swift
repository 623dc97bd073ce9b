import CUsher

/// One timerfd on CLOCK_MONOTONIC, armed at an absolute instant: the supervisor's next wake-up.
/// Disarmed when nothing is due, so an idle usher has no timer at all.
struct Timer {
    let fd: Int32
    private(set) var armedAt: Nanos?

    init() throws(SystemError) {
        fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("timerfd_create") }
    }

    /// Arms for `instant` (nil disarms). Makes no system call when nothing changes.
    mutating func set(_ instant: Nanos?) {
        guard instant != armedAt else { return }
        armedAt = instant
        var spec = itimerspec()
        if let instant {
            // An instant already past would be 0, which disarms: keep it at least 1ns.
            let at = instant > 0 ? instant : 1
            spec.it_value.tv_sec = Int(at / nanosPerSecond)
            spec.it_value.tv_nsec = Int(at % nanosPerSecond)
        }
        _ = timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }

    /// Consumes the expiry count so the fd stops being readable.
    mutating func acknowledge() {
        var expirations: UInt64 = 0
        _ = retryingEINTR { read(fd, &expirations, 8) }
        armedAt = nil
    }
}
