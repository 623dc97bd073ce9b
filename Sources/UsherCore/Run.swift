import CUsher

/// usher's entry point: parse, take over signals, then run the supervisor in one
/// single-threaded event loop until it says exit. Returns usher's exit status.
public func usherMain() -> Int32 {
    var arguments: [String] = []
    let argv = cusher_argv()
    for i in 1..<max(1, Int(cusher_argc())) {
        if let arg = argv?[i] { arguments.append(String(cString: arg)) }
    }
    let invocation: Invocation
    do {
        invocation = try parseInvocation(arguments, env: { name in
            guard let value = getenv(name) else { return nil }
            return String(cString: value)
        }, readFile: { path throws(UsageError) in
            switch readWholeFile(path) {
            case .success(let bytes): return bytes
            case .failure(let e): throw UsageError("\(path): cannot read the config file: \(errorText(e.errno))")
            }
        })
    } catch {
        writeAll(2, "usher: \(error.message)\n")
        return 2
    }
    switch invocation {
    case .help:
        writeAll(1, usageText)
        return 0
    case .version:
        writeAll(1, "usher \(usherVersion) (commit \(String(cString: cusher_build_commit())))\n")
        return 0
    case .run(let plan, let options):
        do {
            var driver = try Driver(plan: plan, options: options)
            return driver.run()
        } catch {
            writeAll(2, "usher: \(error.message)\n")
            return 1
        }
    case .rehearse(let plan, let options, let rehearsal):
        return rehearse(plan, options, rehearsal)
    case .check(let plan):
        writeAll(1, planText(plan))
        return 0
    }
}

/// Connects the pure Supervisor to the system: performs its actions, feeds it events from the
/// signalfd, the reaper and the timer, and blocks in epoll with no timeout when nothing is due.
struct Driver {
    var supervisor: Supervisor
    let options: RunOptions
    let signals: SignalSource
    var timer: Timer
    let poller: Poller
    let isInit: Bool
    let foreground: Bool
    /// pid of each started process by plan index; also its process group id (each child leads
    /// its own group).
    var pids: [Int32?]
    /// pid of each process's preStop exec hook while it runs (it leads its own group too).
    var hookPids: [Int32?]
    var probes = ProbeRunner()
    var log = LogOutput(fd: 2)
    var exitCode: Int32?
    /// For a rehearsal: the stop signal to send at an instant, and the observer.
    var trigger: (at: Nanos, signal: Int32)?
    /// A rehearsal's stop signal before it is armed: it is sent `after` once every main
    /// container is ready, or `after` past `readyBy` if they never are.
    var pendingTrigger: (after: Nanos, signal: Int32, readyBy: Nanos)?
    var observer: Rehearsal?
    var prober: RequestProber?
    var probeFor: Nanos = 0
    /// A stop signal from outside arrived during a rehearsal: do not start another run.
    var interrupted = false
    /// `--prefix`: the children's output pipes, and the label width that aligns them.
    var outputs = OutputPipes()
    let labelWidth: Int
    /// Where children's stdout goes: usher's stdout, or in a rehearsal its stderr, so that
    /// stdout holds the report alone (and `--format json` stays parseable).
    var childStdout: Int32 = 1

    private static let signalToken: UInt64 = 1
    private static let timerToken: UInt64 = 2

    init(plan: Plan, options: RunOptions) throws(SystemError) {
        supervisor = Supervisor(plan: plan.withPrimaryGroups())
        self.options = options
        labelWidth = plan.processes.reduce(0) { max($0, $1.name.utf8.count) }
        pids = Array(repeating: nil, count: plan.processes.count)
        hookPids = pids
        signals = try SignalSource.takeOver()
        timer = try Timer()
        poller = try Poller()
        try poller.add(signals.fd, token: Driver.signalToken)
        try poller.add(timer.fd, token: Driver.timerToken)
        isInit = getpid() == 1
        if !isInit { becomeSubreaper() }
        foreground = ownsForegroundTerminal()
    }

    mutating func run() -> Int32 {
        feed(.start)
        if exitCode == nil { releaseStartupCode() }
        let code = loop()
        outputs.flushAll()
        sweepLeftovers()
        return code < 0 ? 1 : code
    }

    /// The event loop: until the supervisor says exit. Returns its exit status, or -1 when the
    /// loop itself failed (reported on stderr).
    mutating func loop() -> Int32 {
        while exitCode == nil || prober?.stillSending(at: monotonicNow()) == true {
            let due = [supervisor.nextWakeup, trigger?.at, pendingTrigger?.readyBy, prober?.nextWakeup,
                       probes.nextWakeup].compactMap { $0 }.min()
            timer.set(due)
            let tokens: [UInt64]
            do {
                tokens = try poller.wait()
            } catch {
                writeAll(2, "usher: \(error.message)\n")
                return -1
            }
            for token in tokens {
                if token == Driver.signalToken {
                    for sig in signals.drain() {
                        if sig == sigchld {
                            reapAll { pid, status in
                                // Orphans reparented to usher are reaped and forgotten.
                                if let i = pids.firstIndex(of: pid) {
                                    outputs.drain(process: i)  // its last lines before its exit
                                    feed(.exited(i, status))
                                } else if let i = hookPids.firstIndex(of: pid) {
                                    hookPids[i] = nil
                                    feed(.hookExited(i, status))
                                } else if let result = probes.reaped(pid, status) {
                                    feed(result)
                                }
                            }
                        } else {
                            if trigger != nil || observer != nil, isStopRequest(sig) {
                                interrupted = true  // a real stop request ends the rehearsal series
                            }
                            feed(.signal(sig))
                        }
                    }
                } else if token == Driver.timerToken {
                    timer.acknowledge()
                    let now = monotonicNow()
                    for result in probes.expire(now: now) { feed(result) }
                    prober?.tick(now: now, poller: poller)
                    armTrigger(now: now)
                    if let t = trigger, now >= t.at {
                        trigger = nil
                        prober?.stopSending(at: now + probeFor)
                        feed(.signal(t.signal))  // the rehearsal's stop, as if sent from outside
                    }
                    feed(.tick)
                } else if token >= ProbeRunner.tokenBase {
                    if let result = probes.ready(token: token, poller: poller) { feed(result) }
                } else if token >= RequestProber.tokenBase {
                    prober?.ready(token: token, now: monotonicNow(), poller: poller)
                } else {
                    outputs.readable(token: token)
                }
            }
        }
        return exitCode ?? 1
    }

    /// Hands one event to the supervisor and performs what it asks, feeding back the answers
    /// (a spawn's result) in order.
    mutating func feed(_ event: Event) {
        var queue = [event]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            let now = monotonicNow()
            observer?.observe(next, at: now)
            for action in supervisor.handle(next, now: now) {
                observer?.observe(action, at: now)
                switch action {
                case .spawn(let i):
                    let process = supervisor.plan.processes[i]
                    var output: (Int32, Int32)?
                    if options.prefix {
                        do {
                            output = try outputs.open(for: i, name: process.name, width: labelWidth,
                                                      stdoutTo: childStdout, poller: poller)
                        } catch {
                            queue.append(.spawnFailed(i, SpawnFailure(code: 126, reason: "cannot prefix its output: \(error.message)")))
                            continue
                        }
                    }
                    var launch = Launch(process)
                    // The terminal goes to the first main container, the one a user types at.
                    launch.foreground = foreground && i == supervisor.plan.mainIndices.first
                    launch.output = output ?? (childStdout == 1 ? nil : (childStdout, 2))
                    let result = spawn(launch)
                    if options.prefix, let (out, err) = output {  // the child has its own copies now
                        close(out)
                        close(err)
                    }
                    switch result {
                    case .success(let pid):
                        pids[i] = pid
                        queue.append(.spawned(i, pid: pid))
                    case .failure(let failure):
                        queue.append(.spawnFailed(i, failure))
                    }
                case .signalGroup(let i, let sig):
                    // Safe from pid reuse: the supervisor only signals a process it has not yet
                    // seen exit, and only this thread reaps. An unreaped child keeps its pid, and
                    // a group id stays reserved while the group leader (even a zombie) exists.
                    if let pid = pids[i] { signalGroup(pid, sig) }
                case .signalProcess(let i, let sig):
                    if let pid = pids[i] { signalProcess(pid, sig) }
                case .spawnHook(let i):
                    let process = supervisor.plan.processes[i]
                    guard case .exec(let argv)? = process.preStop else { continue }
                    var launch = Launch(process, argv: argv)
                    launch.output = childStdout == 1 ? nil : (childStdout, 2)
                    switch spawn(launch) {
                    case .success(let pid):
                        hookPids[i] = pid
                        queue.append(.hookSpawned(i, pid: pid))
                    case .failure(let failure):
                        queue.append(.hookFailed(i, failure))
                    }
                case .signalHook(let i, let sig):
                    // Same reasoning: a hook is signalled only while it is unreaped.
                    if let pid = hookPids[i] { signalGroup(pid, sig) }
                case .runProbe(let i, let kind):
                    if let result = probes.start(i, kind, of: supervisor.plan.processes[i], now: now, poller: poller) {
                        queue.append(result)
                    }
                case .cancelProbes(let i):
                    probes.cancel(i)
                case .log(let record):
                    let now = wallClockNow()
                    switch options.logFormat {
                    case .text: log.write("\(formatTimestamp(unixNanos: now)) usher: \(logText(record))\n")
                    case .json: log.write(logJSON(record, unixNanos: now) + "\n")
                    }
                case .exit(let code):
                    exitCode = code
                }
            }
        }
        if observer != nil { watchReadiness() }
    }

    /// When usher is PID 1, the kernel kills everything left in the namespace as it exits. As a
    /// subreaper on a laptop, usher does the same for the process groups it started (a shell's
    /// background job that ignored the stop signal, say), so that nothing outlives it there
    /// either. A group whose leader has been reaped is no longer pinned: its number could in
    /// principle be reused, but only after the kernel's pid counter wraps around and only by a
    /// process that makes itself a group leader; that window is accepted here, as tini accepts it.
    private func sweepLeftovers() {
        guard !isInit else { return }
        for case let pid? in pids { signalGroup(pid, sigkill) }
    }
}

extension Plan {
    /// Each process that runs as another user without a group gets that user's primary group
    /// from the image's /etc/passwd, or group 0 without an entry, as container runtimes do:
    /// it must never keep usher's own supplementary groups or run with an unintended group.
    func withPrimaryGroups() -> Plan {
        guard processes.contains(where: { $0.user != nil && $0.group == nil }) else { return self }
        let passwd: [UInt8]
        if case .success(let bytes) = readWholeFile("/etc/passwd") { passwd = bytes } else { passwd = [] }
        var plan = self
        for i in plan.processes.indices {
            if let uid = plan.processes[i].user, plan.processes[i].group == nil {
                plan.processes[i].group = passwdPrimaryGroup(passwd, uid: uid) ?? 0
            }
        }
        return plan
    }
}
