import CUsher

/// Durations and instants in nanoseconds. The supervisor's clock is CLOCK_MONOTONIC, read by the
/// driver and passed in, so the lifecycle can be tested with a fake clock.
public typealias Nanos = Int64

public let nanosPerSecond: Nanos = 1_000_000_000

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

