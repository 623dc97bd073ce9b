import CUsher

/// CLOCK_MONOTONIC in nanoseconds: the supervisor's clock. It does not jump with the wall clock.
public func monotonicNow() -> Nanos {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Nanos(ts.tv_sec) * nanosPerSecond + Nanos(ts.tv_nsec)
}

/// The wall clock as `2026-11-23T07:02:11.120Z`, for log lines.
public func wallClockStamp() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    var t = ts.tv_sec
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let ms = Int32(ts.tv_nsec / 1_000_000)
    let msText = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
}
