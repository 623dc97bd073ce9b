/// What a run adds on top of the PID-1 loop without being part of it: a rehearsal's stop trigger,
/// observer and request prober. The driver hands its companion every event and action the
/// supervisor exchanges, wakes it at the instant it asks for, passes it the poller tokens it
/// owns, and asks it whether the loop must go on after the supervisor is done; the companion
/// never performs the supervisor's actions and the driver keeps none of its state.
///
/// A class-bound protocol, held by the driver as an optional existential: Embedded Swift has
/// those for classes, a normal run holds none (a nil check per call), and the driver's code is
/// compiled once rather than once per kind of run (a generic driver cost 20 kB of the release
/// binary, specialised twice).
protocol Companion: AnyObject {
    /// Seen before the supervisor handles it.
    func observe(_ event: Event, at now: Nanos)
    /// Seen as the driver performs it.
    func observe(_ action: Action, at now: Nanos)
    /// After each event has been handled, with the supervisor's state as it now is.
    func settled(_ supervisor: Supervisor, at now: Nanos)
    /// Once a wake-up's events have all been handled (and once after start-up, and once after
    /// the last event): work worth doing once for many events, such as rewriting a file that
    /// shows the state. Not called after a wake-up that only forwarded signals directly.
    func wakeupHandled(_ supervisor: Supervisor)
    /// When the companion next wants `tick`; nil when nothing is due.
    var nextWakeup: Nanos? { get }
    /// The timer fired: work that was due, and events for the driver to feed (a rehearsal's
    /// stop signal, as if sent from outside).
    func tick(at now: Nanos, poller: Poller) -> [Event]
    /// A poller token of its own (`PollerToken.companion` and up) became ready.
    func ready(token: UInt64, at now: Nanos, poller: Poller)
    /// Whether the loop must go on after the supervisor has said exit.
    func keepsLoopRunning(at now: Nanos) -> Bool
    /// Whether it must see a forwarded signal (the event and its actions). When not, and its
    /// `nextWakeup` depends on nothing a forwarded signal changes, the driver forwards without
    /// it (`Supervisor.forward`): the fast path of the signals a PID 1 exists to pass on.
    var seesForwardedSignals: Bool { get }
}

extension Companion {
    var seesForwardedSignals: Bool { true }
    func wakeupHandled(_ supervisor: Supervisor) {}
}

