/// Every poller token, by owner. epoll hands back the token each descriptor was added with, and
/// the loop passes it to its owner by the range it falls in: the ranges are set here, in one
/// place, and `owner(of:)` is the one dispatch. Each owner adds its own index to its base.
enum PollerToken {
    /// The loop's signalfd and timerfd: always registered, so the loop knows that nothing else
    /// can wake it when no more than these are (`Poller.watchesOnly`).
    static var signals: UInt64 { 1 }
    static var timer: UInt64 { 2 }
    static var loopDescriptors: Int { 2 }
    /// Output pipes (`OutputPipes`): usher's own stdout and stderr waiting for room at
    /// `sinks + fd` (fd 1 or 2), a child's pipe at `streams + fd`.
    static var sinks: UInt64 { 3 }
    static var streams: UInt64 { 16 }
    /// The companion's own descriptors (a rehearsal's request prober): `companion + its index`.
    static var companion: UInt64 { 1 << 32 }
    /// Probe and hook handlers (`HandlerRunner`): `handlers + slot`.
    static var handlers: UInt64 { 1 << 33 }

    enum Owner {
        case signals, timer, outputs, companion, handlers
    }

    static func owner(of token: UInt64) -> Owner {
        switch token {
        case signals: return .signals
        case timer: return .timer
        case handlers...: return .handlers
        case companion...: return .companion
        default: return .outputs
        }
    }
}
