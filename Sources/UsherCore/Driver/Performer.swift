/// Performs the supervisor's actions on the system and turns what the system reports into
/// events: the hands of the driver, the same for every companion. It keeps one run's tables (the
/// pids, the groups, the handlers, the environments); what outlives a run is the event loop's.
struct Performer {
    let options: RunOptions
    let loop: EventLoop
    /// The pid of each process the supervisor started, by plan index, from its spawn until the
    /// moment it is reaped (the handler runner keeps its commands' pids the same way). A pid is
    /// forgotten as it is reaped, before anything else runs, and only this thread reaps: so an
    /// exit is only ever credited to the process that really ended (Linux may hand the same
    /// number to the next child at once), and usher only ever signals a pid it has not reaped,
    /// which the kernel cannot have given to anyone else.
    var pids: [Int32?]
    /// The process group each process led in its last run (its pid then): a rehearsal reports
    /// members left behind.
    private(set) var groups: [Int32?]
    /// Every probe's and hook's handler.
    var handlers = HandlerRunner()
    /// Each container's environment as composed at its last start (with its env files read
    /// then), for its next processes, hooks and exec probes: composed once, not at each spawn.
    /// nil before its first start, and for a container that sets no variable.
    private var environments: [Environment?]
    var exitCode: Int32?
    /// The label width that aligns `--prefix` output.
    let labelWidth: Int

    init(plan: Plan, options: RunOptions, loop: EventLoop) {
        self.options = options
        self.loop = loop
        labelWidth = plan.containers.reduce(0) { max($0, $1.name.utf8.count) }
        pids = Array(repeating: nil, count: plan.containers.count)
        groups = pids
        environments = Array(repeating: nil, count: plan.containers.count)
    }

    private var poller: Poller { loop.poller }

    /// Whether the cgroup's oom_kill count grew since the last reap, read as a child (`event`'s,
    /// or any other) was reaped with `status`. Read at every reap, so that a growth is seen at the
    /// death it came with and at no later one; whom it concerns is the supervisor's decision.
    mutating func oomKills(reaped event: Event?, _ status: ExitStatus) -> Event? {
        guard loop.memory?.grownCount() != nil else { return nil }
        var reaped: Int?
        if case .exited(let i, _)? = event { reaped = i }
        return .oomKills(limit: loop.memory?.limit, reaped: reaped, status)
    }

    /// One reaped child: its pid is forgotten at once (see `pids`); returns the event for
    /// whoever it belonged to. Orphans reparented to usher are reaped and forgotten.
    mutating func reaped(_ pid: Int32, _ status: ExitStatus) -> Event? {
        if let i = pids.firstIndex(of: pid) {
            pids[i] = nil
            loop.outputs.drain(process: i, poller: poller)  // its last lines before its exit
            return .exited(i, status)
        }
        return handlers.reaped(pid, status)
    }

    /// Sends `sig` to process `i` alone, when it runs (forwarding, as tini does).
    func forward(_ i: Int, _ sig: Int32) {
        if let pid = pids[i] { signalProcess(pid, sig) }
    }

    /// Performs one action of `supervisor`'s; returns the event that answers it, if any.
    mutating func perform(_ action: Action, of supervisor: Supervisor, now: Nanos) -> Event? {
        let plan = supervisor.plan
        switch action {
        case .spawn(let i):
            let process = plan.containers[i]
            var launch = Launch(process)
            if !process.envFiles.isEmpty {
                // Read at each start: an init container may have written the file.
                switch environmentWithFiles(process) {
                case .success(let env): environments[i] = env.isEmpty ? nil : Environment(env)
                case .failure(let problem):
                    return .spawnFailed(i, SpawnFailure(code: 126, reason: problem.message))
                }
            }
            if environments[i] == nil && !process.env.isEmpty {
                // Composed once, at the first start: what a pod file's 20,000 entries take is
                // asked for first (Memory.swift), so that a start fails instead of usher.
                let bytes = process.env.reduce(0) { $0 + $1.utf8.count }
                guard canBuildEnvironment(from: bytes) else {
                    return .spawnFailed(i, SpawnFailure(code: 126, reason: "not enough memory to build its environment"))
                }
            }
            launch.environment = environment(i, plan: plan)?.envp
            launch.foreground = i == supervisor.terminalHolder
            launch.newSession = loop.sessionPerChild
            switch wireOutput(&launch, for: i, name: process.name) {
            case .failure(let failure): return .spawnFailed(i, failure)
            case .success: break
            }
            let result = spawn(launch)
            closeChildsCopies(launch)
            switch result {
            case .success(let pid):
                pids[i] = pid
                groups[i] = pid
                loop.startedGroups.append(pid)
                if let adj = process.oomScoreAdj(sidecars: options.sidecarOOMScoreAdj) { setOOMScoreAdj(pid, adj) }
                return .spawned(i, pid: pid)
            case .failure(let failure):
                return .spawnFailed(i, failure)
            }
        case .signalGroup(let i, let sig):
            if let pid = pids[i] { signalTracked(pid, sig) }
        case .signalProcess(let i, let sig):
            forward(i, sig)
        case .runHandler(let i, let use, let timeout):
            let process = plan.containers[i]
            let handler: Plan.Handler?
            switch use {
            case .probe(let kind): handler = process.probe(kind)?.check
            case .hook(let kind): handler = process.hook(kind)
            }
            guard let handler else { return nil }
            var launch: Launch?
            if case .exec(let argv) = handler {
                var command = Launch(process, argv: argv)
                if case .probe(let kind) = use, let written = process.probe(kind)?.writtenCommand?.first {
                    command.shownCommand = written  // a probe's command expanded: messages name it as written
                }
                command.newSession = loop.sessionPerChild
                command.environment = environment(i, plan: plan)?.envp  // its hooks and probes see what it saw
                if case .hook = use {
                    // A hook's output is its container's (labelled with its name under --prefix).
                    if case .failure(let failure) = wireOutput(&command, for: i, name: process.name) {
                        return .handlerDone(i, use, HandlerResult(passed: false, detail: failure.reason))
                    }
                } else {
                    let null = loop.nullDevice()
                    if null >= 0 { command.output = (null, null) }
                }
                launch = command
            }
            let answer = handlers.start(i, use, handler, launch: launch, timeout: timeout, now: now, poller: poller)
            if case .hook = use, let launch { closeChildsCopies(launch) }
            return answer
        case .cancelHandler(let i, let use):
            handlers.cancel(i, use)
        case .killLeftovers(let i, let leader):
            // The leader led its session too when children get one each; with a terminal they
            // share usher's session, and only its group is the container's.
            let count = killLeftovers([leader], sessions: loop.sessionPerChild, sparing: pids)
            // A loop and append rather than removeAll(where:), which would be specialized
            // with its closure for this one use.
            var kept: [Int32] = []
            for g in loop.startedGroups where groupHasMembers(g) { kept.append(g) }
            loop.startedGroups = kept
            if count > 0 { return .leftoversKilled(i, leader: leader, count: count) }
        case .takeTerminalBack(let group):
            takeTerminalBack(from: group)
        case .log(let record):
            log(record)
        case .exit(let code):
            exitCode = code
        }
        return nil
    }

    /// Where the output of a container's process or hook goes (a hook runs inside its
    /// container): under `--prefix` a pair of pipes labelled with the container's name, else
    /// usher's own stdout (or the rehearsal's stderr) and stderr. One rule for both.
    private mutating func wireOutput(_ launch: inout Launch, for i: Int, name: String) -> Result<Void, SpawnFailure> {
        if options.prefix {
            do {
                launch.output = try loop.outputs.open(for: i, name: name, width: labelWidth,
                                                      stdoutTo: loop.childStdout, poller: poller)
                launch.outputIsPipes = true
            } catch {
                return .failure(SpawnFailure(code: 126, reason: "cannot prefix its output: \(error.message)"))
            }
        } else if loop.childStdout != 1 {
            launch.output = (loop.childStdout, 2)
        }
        return .success(())
    }

    /// The child has its own copies of its `--prefix` pipes once started (or the start failed):
    /// usher's ends are closed.
    private func closeChildsCopies(_ launch: Launch) {
        if launch.outputIsPipes, let (out, err) = launch.output {
            closeDescriptor(out)
            closeDescriptor(err)
        }
    }

    /// `process`'s env with the variables of its env files laid in at their positions (later
    /// entries win). A relative `--env-file` is read from the directory usher was started in.
    private func environmentWithFiles(_ process: Plan.Container) -> Result<[String], EnvFileProblem> {
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
        if environments[i] == nil && !plan.containers[i].env.isEmpty {
            environments[i] = Environment(plan.containers[i].env)
        }
        return environments[i]
    }

    private mutating func log(_ record: LogRecord) {
        let now = wallClockNow()
        let line: String
        switch options.logFormat {
        case .text: line = "\(formatTimestamp(unixNanos: now)) usher: \(OSString.printable(logText(record)))\n"
        case .json: line = logJSON(record, unixNanos: now) + "\n"
        }
        let format = options.logFormat
        loop.outputs.log(line, notice: { count in droppedNotice(count, format: format, unixNanos: now) }, poller: poller)
    }
}

extension Launch {
    /// How `process` starts; `argv`: a hook's or a probe's command instead of the process's own.
    init(_ process: Plan.Container, argv: [String]? = nil) {
        self.init(argv: argv ?? process.argv)
        shownCommand = (argv == nil ? process.writtenArgv?.first : nil) ?? self.argv.first ?? ""
        workingDir = process.workingDir
        user = process.user
        group = process.group
        noNewPrivileges = process.noNewPrivileges
    }
}
