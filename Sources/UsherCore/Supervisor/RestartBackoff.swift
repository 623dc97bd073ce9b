/// The kubelet's restart back-off for a container that keeps ending (CrashLoopBackOff): the
/// first restart is immediate, then the delay starts at 10s and doubles up to 5m; a run of 10m
/// or more resets it. (The kubelet restarts a container at once after its first exit and keeps
/// the doubling delay from the second on; its reset is "10 minutes since the last restart".)
public struct RestartBackoff: Equatable {
    public static let initial: Nanos = 10 * nanosPerSecond
    public static let maximum: Nanos = 300 * nanosPerSecond
    public static let resetAfter: Nanos = 600 * nanosPerSecond

    /// The delay before the next restart; nil until the first restart has been made.
    private var delay: Nanos?

    public init() {}

    /// The delay before restarting a container that ended after running for `ran`.
    public mutating func next(ranFor ran: Nanos) -> Nanos {
        if ran >= RestartBackoff.resetAfter { delay = nil }
        let now = delay ?? 0
        delay = delay.map { min($0 * 2, RestartBackoff.maximum) } ?? RestartBackoff.initial
        return now
    }
}
