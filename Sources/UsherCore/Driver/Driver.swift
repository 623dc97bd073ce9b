/// One run of the plan on the event loop: feeds the pure Supervisor the events of the signalfd,
/// the reaper, the timer, the probes and the output pipes, has its actions performed
/// (`Performer`), and blocks in epoll with no timeout when nothing is due. It decides nothing:
/// every lifecycle rule is the Supervisor's. A companion, when there is one, adds what a run
/// needs on top of the loop (see `Companion`). A rehearsal makes one driver per run.
struct Driver {
    var supervisor: Supervisor
    let companion: (any Companion)?
    var performer: Performer
    let loop: EventLoop
    /// A forwarded signal goes straight to its processes (no companion must see it).
    let forwardsDirectly: Bool
    /// An event was fed since the companion's last `wakeupHandled`.
    private var fedSinceWakeupHandled = false
    /// `feed`'s buffers, reused.
    private var actions: [Action] = []
    private var answers: [Event] = []

    init(plan: Plan, options: RunOptions, loop: EventLoop, companion: (any Companion)? = nil) {
        supervisor = Supervisor(plan: plan, terminal: loop.foreground)
        self.companion = companion
        self.loop = loop
        forwardsDirectly = !(companion?.seesForwardedSignals ?? false)
        performer = Performer(plan: plan, options: options, loop: loop)
    }

    /// The run: start, the loop until the supervisor says exit (and the companion has nothing
    /// left under way), then what is left of the children's output written. Returns usher's exit
    /// status, or nil when the loop itself failed (reported on stderr).
    mutating func run() -> Int32? {
        feed(.start)
        // The start's own wake-up, before the start-up code is dropped: its first status file
        // is written with code that then stays out of the idle resident set.
        _ = wakeupHandled()
        if performer.exitCode == nil { releaseStartupCode() }
        let ran = runLoop()
        _ = wakeupHandled()  // the last wake-up's
        loop.flushOutputs()
        return ran ? performer.exitCode ?? 1 : nil
    }

    /// The event loop: until the supervisor says exit (and the companion has nothing left under
    /// way). False when the loop itself failed (reported on stderr).
    private mutating func runLoop() -> Bool {
        // Whether the timer is still armed for what is due: a wake-up that only forwarded
        // signals changed nothing the next wake-up depends on, and the next wait skips working it
        // out again (a walk over every container and its probes).
        var wakeupSettled = false
        while performer.exitCode == nil || companion?.keepsLoopRunning(at: monotonicNow()) == true {
            if !wakeupSettled { loop.timer.set(wakeupHandled()) }
            wakeupSettled = forwardsDirectly
            // The signalfd is read and its signals handled after the wake-up's other
            // descriptors (epoll reports them in no particular order anyway): one place reads
            // them, in line.
            var signalsReady = true
            if loop.timer.armedAt == nil && Poller.watchesOnly(PollerToken.loopDescriptors) {
                // Nothing but a signal can wake usher (the timer is disarmed, nothing else is
                // watched): it waits in the signalfd's read (below), one system call instead of
                // two (epoll_wait, then the read). Blocked with no timeout, as epoll would be.
            } else {
                let tokens: UnsafeBufferPointer<UInt64>
                do {
                    tokens = try loop.poller.wait()
                } catch {
                    writeAll(2, "usher: \(error.message)\n")
                    return false
                }
                signalsReady = false
                for token in tokens {
                    switch PollerToken.owner(of: token) {
                    case .signals: signalsReady = true
                    case .timer: timerFired()
                    case .handlers:
                        if let result = performer.handlers.ready(token: token, poller: loop.poller) { feed(result) }
                    case .companion: companion?.ready(token: token, at: monotonicNow(), poller: loop.poller)
                    case .outputs: loop.outputs.ready(token: token, poller: loop.poller)
                    }
                }
                if tokens.count != (signalsReady ? 1 : 0) { wakeupSettled = false }
            }
            if signalsReady && !signalsArrived(loop.signals.drain()) { wakeupSettled = false }
        }
        return true
    }

    /// A wake-up's events are all handled: the companion's once-per-wake-up work first (it may
    /// want a wake-up of its own), then the instant the timer is set for. Out of line: the
    /// loop's code stays as it was (with the call inlined, the machine outliner turned two
    /// instructions of the forwarded-signal path into a call).
    ///
    /// Only after a wake-up that fed an event: the first wait after start-up does not touch the
    /// companion's code again once it has been dropped (the idle resident set stays as it was).
    @inline(never)  // measurement: the forwarded-signal path's instructions
    private mutating func wakeupHandled() -> Nanos? {
        if fedSinceWakeupHandled {
            fedSinceWakeupHandled = false
            companion?.wakeupHandled(supervisor)
        }
        return nextWakeup
    }

    private var nextWakeup: Nanos? {
        var next = supervisor.nextWakeup
        if let t = companion?.nextWakeup { next = min(next ?? t, t) }
        if let t = performer.handlers.nextWakeup { next = min(next ?? t, t) }
        return next
    }

    /// The `count` signals just read from the signalfd: SIGCHLD reaps; a signal to forward goes
    /// straight to the processes the supervisor names (`Supervisor.forward`: no event, no action
    /// list, no state change); a stop request is a full event. Returns true when only signals
    /// were forwarded (nothing changed), false when anything else happened.
    private mutating func signalsArrived(_ count: Int) -> Bool {
        var onlyForwarded = true
        for k in 0..<count {
            let sig = loop.signals.signal(k)
            if sig == sigchld {
                onlyForwarded = false
                reapAll { pid, status in
                    let event = performer.reaped(pid, status)
                    // Before the death's own event: the supervisor credits an OOM kill to the
                    // process whose `.exited` follows, while it still has its pid.
                    if let oom = performer.oomKills(reaped: event, status) { feed(oom) }
                    if let event { feed(event) }
                }
            } else if !forwardsDirectly || !supervisor.forward(sig, to: { performer.forward($0, sig) }) {
                // A companion observes every event; a stop request is a full one.
                onlyForwarded = false
                feed(.signal(sig))
            }
        }
        return onlyForwarded
    }

    private mutating func timerFired() {
        loop.timer.acknowledge()
        let now = monotonicNow()
        for result in performer.handlers.expire(now: now) { feed(result) }
        if let companion {
            for event in companion.tick(at: now, poller: loop.poller) { feed(event) }
        }
        feed(.tick)
    }

    /// Hands one event to the supervisor and has what it asks performed, feeding back the
    /// answers (a spawn's result) in order. The action and answer buffers are kept from call to
    /// call (their capacity stays), so that a forwarded signal or a reaped orphan allocates
    /// nothing once the loop has run a little.
    mutating func feed(_ event: Event) {
        var next: Event? = event
        while let e = next {
            let now = monotonicNow()
            companion?.observe(e, at: now)
            actions.removeAll(keepingCapacity: true)
            supervisor.handle(e, now: now, into: &actions)
            for k in actions.indices {
                companion?.observe(actions[k], at: now)
                if let answer = performer.perform(actions[k], of: supervisor, now: now) { answers.append(answer) }
            }
            next = answers.isEmpty ? nil : answers.removeFirst()
        }
        companion?.settled(supervisor, at: monotonicNow())
        fedSinceWakeupHandled = true
    }
}
