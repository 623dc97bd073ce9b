import CUsher

/// Performs the supervisor's actions on the system and turns what the system reports into
/// events: the hands of the driver, the same for every companion.
struct Performer {
    let options: RunOptions
    let poller: Poller
    let isInit: Bool
    let foreground: Bool
    /// Every process, hook and exec probe leads a session of its own, as the container runtime
    /// starts each container's process and each `exec` (runc's nsexec calls setsid), when usher has
    /// no controlling terminal to share. With one (an interactive run, `docker run -t`), they stay
    /// in usher's session: the main container can then take the terminal, and any child may use it.
    let sessionPerChild: Bool
    /// The pid of each process the supervisor started, by plan index, from its spawn until the
    /// moment it is reaped (the handler runner keeps its commands' pids the same way). A pid is
    /// forgotten as it is reaped, before anything else runs, and only this thread reaps: so an
    /// exit is only ever credited to the process that really ended (Linux may hand the same
    /// number to the next child at once), and usher only ever signals a pid it has not reaped,
    /// which the kernel cannot have given to anyone else.
    var pids: [Int32?]
    /// The process group each process led in its last run (its pid then): a rehearsal reports
    /// members left behind.
    var groups: [Int32?]
    /// Every process group usher started that may still have members (a group is dropped once
    /// it has none, when a container's leftovers are killed): what is left of them is killed
    /// when usher exits as a subreaper.
    private var startedGroups: [Int32] = []
    /// Every probe's and hook's handler.
    var handlers = HandlerRunner()
    var outputs = OutputPipes()
    /// Where an exec probe's output goes: /dev/null, as the kubelet keeps it out of the logs.
    private var devNull: Int32 = -2
    /// Each container's environment as composed at its last start (with its env files read
    /// then), for its next processes, hooks and exec probes: composed once, not at each spawn.
    /// nil before its first start, and for a container that sets no variable.
    private var environments: [Environment?]
    /// The memory cgroup, whose oom_kill count is read at every reap.
    private var memory: MemoryCgroup?
    /// `--oom-score-adj`: the oom_score_adj every sidecar gets, so that the kernel picks a
    /// sidecar before the main process (where it picks one process and not the whole group).
    let sidecarOOMScoreAdj: Int32?
    var exitCode: Int32?
    /// The label width that aligns `--prefix` output.
    let labelWidth: Int
    /// Where children's stdout goes: usher's stdout, or in a rehearsal its stderr, so that
    /// stdout holds the report alone (and `--format json` stays parseable).
    var childStdout: Int32 = 1

    init(plan: Plan, options: RunOptions, poller: Poller) {
        self.options = options
        self.poller = poller
        labelWidth = plan.processes.reduce(0) { max($0, $1.name.utf8.count) }
        pids = Array(repeating: nil, count: plan.processes.count)
        groups = pids
        environments = Array(repeating: nil, count: plan.processes.count)
        memory = MemoryCgroup.own()
        sidecarOOMScoreAdj = options.sidecarOOMScoreAdj
        isInit = getpid() == 1
        if !isInit { becomeSubreaper() }
        foreground = ownsForegroundTerminal()
        sessionPerChild = !foreground && !hasControllingTerminal()
    }

    /// Forgets everything of a run, for the next one (a rehearsal's).
    mutating func reset() {
        pids = Array(repeating: nil, count: pids.count)
        groups = pids
        exitCode = nil
    }

    /// Whether the cgroup's oom_kill count grew since the last reap, read as a child (`event`'s,
    /// or any other) was reaped with `status`. Read at every reap, so that a growth is seen at the
    /// death it came with and at no later one; whom it concerns is the supervisor's decision.
    mutating func oomKills(reaped event: Event?, _ status: ExitStatus) -> Event? {
        guard memory?.grownCount() != nil else { return nil }
        var reaped: Int?
        if case .exited(let i, _)? = event { reaped = i }
        return .oomKills(limit: memory?.limit, reaped: reaped, status)
    }

    /// One reaped child: its pid is forgotten at once (see `pids`); returns the event for
    /// whoever it belonged to. Orphans reparented to usher are reaped and forgotten.
    mutating func reaped(_ pid: Int32, _ status: ExitStatus, mainIndex: Int?) -> Event? {
        if let i = pids.firstIndex(of: pid) {
            pids[i] = nil
            outputs.drain(process: i, poller: poller)  // its last lines before its exit
            if foreground && i == mainIndex { takeTerminalBack(from: pid) }
            return .exited(i, status)
        }
        return handlers.reaped(pid, status)
    }

    /// Sends `sig` to process `i` alone, when it runs (forwarding, as tini does).
    func forward(_ i: Int, _ sig: Int32) {
        if let pid = pids[i] { signalProcess(pid, sig) }
    }

    /// Performs one action; returns the event that answers it, if any.
    mutating func perform(_ action: Action, plan: Plan, now: Nanos) -> Event? {
        switch action {
        case .spawn(let i):
            var launch = Launch(plan.processes[i])
            if !plan.processes[i].envFiles.isEmpty {
                // Read at each start: an init container may have written the file.
                switch environmentWithFiles(plan.processes[i]) {
                case .success(let env): environments[i] = env.isEmpty ? nil : Environment(env)
                case .failure(let problem):
                    return .spawnFailed(i, SpawnFailure(code: 126, reason: problem.message))
                }
            }
            if environments[i] == nil && !plan.processes[i].env.isEmpty {
                // Composed once, at the first start: what a pod file's 20,000 entries take is
                // asked for first (Memory.swift), so that a start fails instead of usher.
                let bytes = plan.processes[i].env.reduce(0) { $0 + $1.utf8.count }
                guard canBuildEnvironment(from: bytes) else {
                    return .spawnFailed(i, SpawnFailure(code: 126, reason: "not enough memory to build its environment"))
                }
            }
            launch.environment = environment(i, plan: plan)
            // The terminal goes to the first main container, the one a user types at.
            launch.foreground = foreground && i == plan.mainIndices.first
            launch.newSession = sessionPerChild
            switch start(launch, for: i, name: plan.processes[i].name) {
            case .success(let pid):
                pids[i] = pid
                groups[i] = pid
                startedGroups.append(pid)
                if let adj = sidecarOOMScoreAdj, plan.processes[i].role == .sidecar { setOOMScoreAdj(pid, adj) }
                return .spawned(i, pid: pid)
            case .failure(let failure):
                return .spawnFailed(i, failure)
            }
        case .signalGroup(let i, let sig):
            if let pid = pids[i] { signalTracked(pid, sig) }
        case .signalProcess(let i, let sig):
            forward(i, sig)
        case .runHandler(let i, let use, let timeout):
            let process = plan.processes[i]
            let handler: Plan.Handler?
            switch use {
            case .probe(let kind): handler = process.probe(kind)?.check
            case .hook(let kind): handler = process.hook(kind)
            }
            guard let handler else { return nil }
            var launch: Launch?
            if case .exec(let argv) = handler {
                launch = Launch(process, argv: argv)
                if case .probe(let kind) = use, let written = process.probe(kind)?.writtenCommand?.first {
                    launch?.shownCommand = written  // a probe's command expanded: messages name it as written
                }
                launch?.newSession = sessionPerChild
                launch?.environment = environment(i, plan: plan)  // its hooks and probes see what it saw
                if case .hook = use {
                    // A hook's output is its container's (labelled with its name under --prefix).
                    if options.prefix {
                        do {
                            launch?.output = try outputs.open(for: i, name: process.name, width: labelWidth,
                                                              stdoutTo: childStdout, poller: poller)
                        } catch {
                            return .handlerDone(i, use, HandlerResult(passed: false, detail: "cannot prefix its output: \(error.message)"))
                        }
                    } else if childStdout != 1 {
                        launch?.output = (childStdout, 2)
                    }
                } else {
                    if devNull == -2 { devNull = cusher_open_write("/dev/null") }
                    if devNull >= 0 { launch?.output = (devNull, devNull) }
                }
            }
            let answer = handlers.start(i, use, handler, launch: launch, timeout: timeout, now: now, poller: poller)
            if case .hook = use, options.prefix, let (out, err) = launch?.output {  // the child has its own copies
                close(out)
                close(err)
            }
            return answer
        case .cancelHandler(let i, let use):
            handlers.cancel(i, use)
        case .killLeftovers(let i, let leader):
            // The leader led its session too when children get one each; with a terminal they
            // share usher's session, and only its group is the container's.
            let count = killLeftovers([leader], sessions: sessionPerChild, sparing: pids)
            // A loop and append rather than removeAll(where:), which would be specialized
            // with its closure for this one use.
            var kept: [Int32] = []
            for g in startedGroups where groupHasMembers(g) { kept.append(g) }
            startedGroups = kept
            if count > 0 { return .leftoversKilled(i, leader: leader, count: count) }
        case .log(let record):
            log(record)
        case .exit(let code):
            exitCode = code
        }
        return nil
    }

    /// `process`'s env with the variables of its env files laid in at their positions (later
    /// entries win). A relative `--env-file` is read from the directory usher was started in.
    private func environmentWithFiles(_ process: Plan.Process) -> Result<[String], EnvFileProblem> {
        let fromFiles: [(position: Int, entry: String)]
        do {
            // Read as the process's user may (ContainerFiles' policy): what it could not open
            // itself does not reach its environment.
            let reader = FileReader(uid: process.user, gid: process.group)
            fromFiles = try readEnvFiles(process.envFiles) { ref in
                let full = ref.path.utf8.first == 47 ? ref.path : joined(Launch.startDirectory ?? ".", "/", ref.path)
                return readContainerFile(full, beneath: ref.root ?? directoryOf(full), as: reader, limit: maxEnvFileBytes)
            }
        } catch {
            return .failure(error)
        }
        return .success(layingIn(fromFiles, among: process.env))
    }

    /// Process `i`'s environment: as composed at its last start with its env files, or else
    /// from its `env` alone, composed once (it never changes).
    private mutating func environment(_ i: Int, plan: Plan) -> Environment? {
        if environments[i] == nil && !plan.processes[i].env.isEmpty {
            environments[i] = Environment(plan.processes[i].env)
        }
        return environments[i]
    }

    /// Starts a process or its hook, with its output labelled under `--prefix` (a hook's under
    /// its container's name: it runs inside that container).
    private mutating func start(_ launch: Launch, for i: Int, name: String) -> Result<Int32, SpawnFailure> {
        var launch = launch
        var pipes: (Int32, Int32)?
        if options.prefix {
            do {
                pipes = try outputs.open(for: i, name: name, width: labelWidth, stdoutTo: childStdout, poller: poller)
            } catch {
                return .failure(SpawnFailure(code: 126, reason: "cannot prefix its output: \(error.message)"))
            }
        }
        launch.output = pipes ?? (childStdout == 1 ? nil : (childStdout, 2))
        let result = spawn(launch)
        if let (out, err) = pipes {  // the child has its own copies now
            close(out)
            close(err)
        }
        return result
    }

    private mutating func log(_ record: LogRecord) {
        let now = wallClockNow()
        let line: String
        switch options.logFormat {
        case .text: line = "\(formatTimestamp(unixNanos: now)) usher: \(OSString.printable(logText(record)))\n"
        case .json: line = logJSON(record, unixNanos: now) + "\n"
        }
        let format = options.logFormat
        outputs.log(line, notice: { count in droppedNotice(count, format: format, unixNanos: now) }, poller: poller)
    }

    /// The foreground main has exited: the terminal goes back to usher's own group, so that the
    /// next Ctrl-C reaches usher (a third one forces the stop) instead of a group that is gone.
    /// Only when the terminal still belongs to that group: if the app handed it on, it stays.
    /// usher ignores SIGTTOU, so it may do this from the background.
    private func takeTerminalBack(from pgid: Int32) {
        guard tcgetpgrp(0) == pgid else { return }
        // As PID 1 of a pid namespace whose parent started it (`unshare --fork` at a terminal),
        // usher's group belongs to the parent namespace and reads as 0 here: it then becomes the
        // leader of a group of its own in the same session, which it can hand the terminal to.
        if getpgrp() == 0 { _ = setpgid(0, 0) }
        _ = tcsetpgrp(0, getpgrp())
    }

    /// When usher is PID 1, the kernel kills everything left in the namespace as it exits. As a
    /// subreaper on a laptop, usher does the same for the process groups it started, in every
    /// run, and their sessions (what a run left was killed as its leader was reaped, except in
    /// the shutdown; this catches the rest), so that nothing outlives it there either. A group
    /// whose leader has been reaped is no longer pinned once it has no member: its number could in
    /// principle be reused, but only after the kernel's pid counter wraps around and only by a
    /// process that makes itself a group leader; groups found empty are dropped as containers
    /// end, and the window left is accepted here, as tini accepts it.
    func sweepLeftovers() {
        guard !isInit else { return }
        _ = killLeftovers(startedGroups, sessions: sessionPerChild, sparing: [])
    }
}
