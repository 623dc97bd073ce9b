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
        containers.indices.map { i in
            let c = containers[i]
            let state: ContainerStatus.State
            switch c.state {
            case .notStarted: state = .waiting
            case .spawning: state = .starting
            case .waitingRestart: state = .restarting
            case .exited: state = .exited
            case .failed: state = .failed
            case .running:
                if c.stop != nil || phase == .stopping {
                    state = .stopping
                } else if !(c.started && c.postStart == .done) {
                    state = .starting
                } else if plan.containers[i].role == .sidecar {
                    state = .running
                } else {
                    state = c.ready ? .ready : .notReady
                }
            }
            return ContainerStatus(name: name(i), role: plan.containers[i].role, state: state, pid: pid(i), restarts: c.restarts)
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
