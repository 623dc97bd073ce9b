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
    /// The preStop exec hook of the process at this index was started, could not be started, or
    /// was reaped.
    case hookSpawned(Int, pid: Int32)
    case hookFailed(Int, SpawnFailure)
    case hookExited(Int, ExitStatus)
    /// One check of a probe of the process at this index is over (a timeout is a failure).
    case probeResult(Int, Plan.ProbeKind, passed: Bool, detail: String)
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
    /// Start the preStop exec hook of the process at this index; the driver answers with
    /// `.hookSpawned` or `.hookFailed`, and later `.hookExited`.
    case spawnHook(Int)
    /// Send a signal to the process group of that process's running preStop hook.
    case signalHook(Int, Int32)
    /// Run one check of this probe; the driver answers with `.probeResult` within its timeout.
    case runProbe(Int, Plan.ProbeKind)
    /// Abandon the checks of this process's probes that are under way (it exited, or the
    /// shutdown began); no result is expected for them.
    case cancelProbes(Int)
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
    /// A preStop sleep begins: the stop signal follows after `wait`.
    case preStopSleep(name: String, pid: Int32, wait: Nanos)
    case preStopStarted(name: String, pid: Int32, hookPid: Int32)
    case preStopFailed(name: String, SpawnFailure)
    case preStopExited(name: String, hookPid: Int32, ExitStatus, ran: Nanos)
    case stopping(name: String, pid: Int32, signal: Int32)
    /// `afterSignal` is the time since the stop signal was sent to it, when it was sent one.
    case exited(name: String, pid: Int32, ExitStatus, ran: Nanos, afterSignal: Nanos?, role: Plan.Role, shuttingDown: Bool)
    case startupProbePassed(name: String, pid: Int32, after: Nanos)
    case ready(name: String, pid: Int32)
    case notReady(name: String, pid: Int32, detail: String)
    /// A startup or liveness probe failed `failures` times in a row, the last with `detail`.
    case probeFailed(name: String, pid: Int32, Plan.ProbeKind, failures: Int, detail: String)
    /// A sidecar that ended will be started again after `delay` (its `restart`th restart).
    case restartScheduled(name: String, delay: Nanos, restart: Int)
    /// Startup cannot go on (an init container failed, a startup probe never passed).
    case startupFailed(reason: String)
    case killedAtDeadline(name: String, pid: Int32)
    /// The third SIGINT: everything still running is killed now.
    case forcedStop(Int32, times: Int)
    case killedOnRequest(name: String, pid: Int32)
    case exiting(Int32)
}
