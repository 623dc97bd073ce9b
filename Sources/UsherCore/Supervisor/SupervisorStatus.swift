/// The supervisor's state as operators see it from outside: what `usher status`, the status
/// file and sd_notify report. Read-only; nothing here decides anything.
public struct ContainerStatus: Equatable {
    public enum State: Equatable, Sendable {
        case waiting, starting, running, ready, notReady, restarting, stopping, exited, failed
    }

    public var name: String
    public var role: Plan.Role
    public var state: State
    public var pid: Int32?
    public var restarts: Int

    public init(name: String, role: Plan.Role, state: State, pid: Int32? = nil, restarts: Int = 0) {
        self.name = name
        self.role = role
        self.state = state
        self.pid = pid
        self.restarts = restarts
    }
}

extension Supervisor {
    /// Every container's state now.
    public func statuses() -> [ContainerStatus] {
        containers.indices.map { status($0) }
    }

    /// Container `i`'s state now.
    public func status(_ i: Int) -> ContainerStatus {
        let b = brief(i)
        return ContainerStatus(name: name(i), role: role(i), state: b.state, pid: b.pid, restarts: b.restarts)
    }

    /// Container `i`'s status without its name and role, which do not change: what the status
    /// file compares with what it shows, for every container after every wake-up that changed
    /// something, to rebuild only the lines that changed. Read in place: `containers[i]`
    /// would copy the container (and retain its arrays) first.
    func brief(_ i: Int) -> (state: ContainerStatus.State, pid: Int32?, restarts: Int) {
        containers.withUnsafeBufferPointer { all in
            let state: ContainerStatus.State
            var pid: Int32?
            switch all[i].state {
            case .notStarted: state = .waiting
            case .spawning: state = .starting
            case .waitingRestart: state = .restarting
            case .exited: state = .exited
            case .failed: state = .failed
            case .running(let running, _):
                pid = running
                if all[i].stop != nil || phase == .stopping {
                    state = .stopping
                } else if !(all[i].started && all[i].postStart == .done) {
                    state = .starting
                } else if role(i) == .sidecar {
                    state = .running
                } else {
                    state = all[i].ready ? .ready : .notReady
                }
            }
            return (state, pid, all[i].restarts)
        }
    }

    /// The whole group is up: every main container ready, every sidecar started, and no shutdown
    /// under way (what `usher status` exits 0 for, and what sd_notify's READY=1 means).
    public var isUp: Bool {
        guard phase == .running else { return false }
        for (i, p) in plan.containers.enumerated() {
            switch p.role {
            case .main: if !isReady(i) { return false }
            case .sidecar: if !(isRunning(i) && containers[i].started && containers[i].postStart == .done) { return false }
            case .initStep: continue
            }
        }
        return true
    }

    public var isShuttingDown: Bool { deadline != nil }
}
