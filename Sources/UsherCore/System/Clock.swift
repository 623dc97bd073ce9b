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

