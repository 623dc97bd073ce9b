/// What the driver tells the supervisor.
public enum Event: Equatable {
    /// Begin: start the processes in order.
    case start
    /// The process at this index was started with this pid.
    case spawned(Int, pid: Int32)
    /// The process at this index could not be started.
    case spawnFailed(Int, SpawnFailure)
    /// The process at this index was reaped.
    case exited(Int, ExitStatus)
    /// usher received a signal (never SIGCHLD: the driver turns that into `.exited`).
    case signal(Int32)
    /// Time passed; the supervisor checks its own deadlines against `now`.
    case tick
}

/// What the supervisor asks the driver to do, in order.
public enum Action: Equatable {
    /// Start the process at this index; the driver answers with `.spawned` or `.spawnFailed`.
    case spawn(Int)
    /// Send a signal to the process group of the process at this index (so a shell's children
    /// get it too).
    case signalGroup(Int, Int32)
    /// Send a signal to the process at this index only (forwarding, as tini does).
    case signalProcess(Int, Int32)
    /// Record a lifecycle event.
    case log(LogRecord)
    /// Stop the event loop and exit with this status.
    case exit(Int32)
}

/// One line of the lifecycle log. Durations are measured by the supervisor; the driver adds the
/// wall-clock timestamp when it writes the line.
public enum LogRecord: Equatable {
    case started(name: String, pid: Int32)
    case startFailed(name: String, SpawnFailure)
    case signalReceived(Int32, grace: Nanos)
    case stopAlreadyUnderway(Int32)
    /// The first stop request, arriving after the main process's own exit began the shutdown.
    case stopJoinsShutdown(Int32)
    case preStop(Nanos)
    case stopping(name: String, pid: Int32, signal: Int32)
    /// `afterSignal` is the time since the stop signal was sent to it, when it was sent one.
    case exited(name: String, pid: Int32, ExitStatus, ran: Nanos, afterSignal: Nanos?, role: Plan.Role, shuttingDown: Bool)
    case killedAtDeadline(name: String, pid: Int32)
    case exiting(Int32)
}
