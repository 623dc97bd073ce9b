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
    /// A hook's exec command was started with this pid (for the log; probes are not reported).
    case handlerStarted(Int, Plan.HandlerUse, pid: Int32)
    /// One run of a probe's or hook's handler of the process at this index is over (a timeout,
    /// or a command that could not be started, is a failure).
    case handlerDone(Int, Plan.HandlerUse, HandlerResult)
    /// usher's memory cgroup's oom_kill count grew (cgroup-wide: any process of the container),
    /// read as a child was reaped that ended with `status`: the process at index `reaped`, whose
    /// `.exited` follows at once, or, with nil, a probe's or hook's command or an orphan.
    /// `limit` is the cgroup's memory limit, when readable. The supervisor decides whom the kill
    /// concerns. (Not the count itself: no decision reads it, and every Event copy carried it.)
    case oomKills(limit: MemoryLimit?, reaped: Int?, ExitStatus)
    /// What the run of the process at this index led by `leader` left behind: `count`
    /// processes, killed (the answer to `.killLeftovers`).
    case leftoversKilled(Int, leader: Int32, count: Int)
    /// usher received a signal (never SIGCHLD: the driver turns that into `.exited`).
    case signal(Int32)
    /// Time passed; the supervisor checks its own deadlines against `now`.
    case tick
    /// The status file, kept by what runs on top of the loop, could not be written (`problem`),
    /// or, with nil, is written again: logged as `.statusFile`, decides nothing. (Its two
    /// strings rather than a LogRecord: that payload would make every Event larger.)
    case statusFileWrite(path: String, problem: String?)
}

/// How one run of a handler ended.
public struct HandlerResult: Equatable {
    public var passed: Bool
    /// What happened, for the log: `HTTP 200`, `connection refused`, `timed out after 1s`.
    public var detail: String
    /// How an exec handler's command ended, when it did.
    public var status: ExitStatus?

    public init(passed: Bool, detail: String, status: ExitStatus? = nil) {
        self.passed = passed
        self.detail = detail
        self.status = status
    }
}

/// What the supervisor asks the driver to do, in order.
public enum Action: Equatable {
    /// Start the process at this index; the driver answers with `.spawned` or `.spawnFailed`.
    case spawn(Int)
    /// Send a signal to the process at this index and its process group (so a shell's children
    /// get it too).
    case signalGroup(Int, Int32)
    /// Send a signal to the process at this index only (forwarding, as tini does).
    case signalProcess(Int, Int32)
    /// Run this probe's or hook's handler of the process at this index (never a sleep: the
    /// supervisor waits those out itself), giving it `timeout`; the driver answers with
    /// `.handlerDone`, and for a hook's command first with `.handlerStarted`.
    case runHandler(Int, Plan.HandlerUse, timeout: Nanos)
    /// Abandon this run of the handler (its command is killed); no result is expected.
    case cancelHandler(Int, Plan.HandlerUse)
    /// The run of the process at this index led by `leader` (reaped) has ended: SIGKILL to what
    /// is left of its process group and session, as the container runtime ends every process
    /// of a container that ends. The driver answers `.leftoversKilled` when it killed any.
    case killLeftovers(Int, leader: Int32)
    /// The process that held the terminal (`terminalHolder`), leader of `group`, was reaped:
    /// the terminal goes back to usher's own group if that group still holds it.
    case takeTerminalBack(group: Int32)
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
    /// A preStop or postStart sleep begins (for a preStop, the stop signal follows after it).
    case hookSleep(name: String, pid: Int32, Plan.HookKind, wait: Nanos)
    /// A hook's command started (`hookPid`), or its HTTP request was sent (`hookPid` nil).
    case hookStarted(name: String, pid: Int32, Plan.HookKind, hookPid: Int32?)
    /// A hook ended; `result` says how (a preStop's result does not matter, as in Kubernetes).
    case hookEnded(name: String, Plan.HookKind, hookPid: Int32?, HandlerResult, ran: Nanos)
    case stopping(name: String, pid: Int32, signal: Int32)
    /// The stop window: `window` before the deadline, this process gets its stop signal now
    /// although its preStop (`cutShort`) or its turn had not come.
    case stopWindow(name: String, pid: Int32, signal: Int32, window: Nanos, cutShort: Bool)
    /// The grace period is shorter than the stop window: every stop signal goes out at once.
    case graceShorterThanWindow(grace: Nanos, window: Nanos)
    /// `afterSignal` is the time since the stop signal was sent to it, when it was sent one.
    case exited(name: String, pid: Int32, ExitStatus, ran: Nanos, afterSignal: Nanos?, role: Plan.Role, shuttingDown: Bool)
    /// A main container that exited and is not restarted (its pod's or its own restart policy):
    /// the pod goes on until every main container is done.
    case mainDone(name: String, remaining: Int)
    case oomKilled(name: String, pid: Int32, limit: MemoryLimit?)
    /// The OOM killer killed a process of the container, and nothing says which: one usher does
    /// not track (a worker of a main container), or one whose death was no SIGKILL of its own.
    case oomKillInContainer(limit: MemoryLimit?)
    case startupProbePassed(name: String, pid: Int32, after: Nanos)
    case ready(name: String, pid: Int32)
    case notReady(name: String, pid: Int32, detail: String)
    /// A startup or liveness probe failed `failures` times in a row, the last with `detail`.
    case probeFailed(name: String, pid: Int32, Plan.ProbeKind, failures: Int, detail: String)
    /// A container is stopped because a probe or its postStart hook failed; `restart` says
    /// whether it is then restarted (nil: its restart rules decide by how it exits).
    case stoppingForRestart(name: String, pid: Int32, reason: String, restart: Bool?)
    /// A main container waiting for its restart when the shutdown began is not restarted: its
    /// last run's end (`last`) is its final one.
    case restartCancelled(name: String, last: ExitStatus)
    /// What the run of a container led by `pid` left in its process group or session when its
    /// leader was reaped (`count` processes) was killed.
    case leftoversKilled(name: String, pid: Int32, count: Int)
    /// A process that ended will be started again after `delay` (its `restart`th restart).
    case restartScheduled(name: String, delay: Nanos, restart: Int)
    /// Startup cannot go on (an init container failed).
    case startupFailed(reason: String)
    case killedAtDeadline(name: String, pid: Int32)
    /// The third SIGINT: everything still running is killed now.
    case forcedStop(Int32, times: Int)
    case killedOnRequest(name: String, pid: Int32)
    case exiting(Int32)
    /// The status file could not be written (`problem`; it was removed, so that it cannot say
    /// what is no longer true), or, with nil, is written again.
    case statusFile(path: String, problem: String?)
}
