import CUsher

/// CLOCK_MONOTONIC in nanoseconds: the supervisor's clock. It does not jump with the wall clock.
public func monotonicNow() -> Nanos {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Nanos(ts.tv_sec) * nanosPerSecond + Nanos(ts.tv_nsec)
}

/// The wall clock (CLOCK_REALTIME) in nanoseconds since the Unix epoch, for log timestamps.
public func wallClockNow() -> Nanos {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Nanos(ts.tv_sec) * nanosPerSecond + Nanos(ts.tv_nsec)
}

extension Nanos {
    /// This instant plus `duration`, saturating at the end of time instead of trapping: a grace
    /// period of centuries added to the uptime must not crash PID 1.
    func adding(_ duration: Nanos) -> Nanos {
        let (sum, overflow) = addingReportingOverflow(duration)
        return overflow ? (duration > 0 ? Nanos.max : Nanos.min) : sum
    }
}
