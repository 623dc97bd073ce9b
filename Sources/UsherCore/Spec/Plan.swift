/// What to run and how to stop it: the resolved result of the command line and environment.
/// The lifecycle engine reads only this.
public struct Plan: Equatable {
    public enum Role: Equatable {
        case sidecar
        case main
    }

    public struct Process: Equatable {
        public var name: String
        public var argv: [String]
        public var role: Role

        public init(name: String, argv: [String], role: Role) {
            self.name = name
            self.argv = argv
            self.role = role
        }
    }

    /// In start order: the sidecars as given, then the main process last.
    public var processes: [Process]
    /// How long to wait after the stop request before the main process gets its stop signal.
    public var preStop: Nanos
    /// One deadline for the whole shutdown, counted from the stop request (or from the main
    /// process's own exit); at the deadline every process still alive gets SIGKILL.
    public var grace: Nanos
    /// The signal that stops the main process. Sidecars always get SIGTERM.
    public var stopSignal: Int32

    public static let defaultGrace: Nanos = 30 * nanosPerSecond

    public init(processes: [Process], preStop: Nanos = 0, grace: Nanos = Plan.defaultGrace,
                stopSignal: Int32 = sigterm) {
        self.processes = processes
        self.preStop = preStop
        self.grace = grace
        self.stopSignal = stopSignal
    }

    public var mainIndex: Int? { processes.lastIndex { $0.role == .main } }
}

// Fixed Linux numbers, named once so the lifecycle does not need libc.
public let sighup: Int32 = 1
public let sigint: Int32 = 2
public let sigquit: Int32 = 3
public let sigkill: Int32 = 9
public let sigterm: Int32 = 15
public let sigchld: Int32 = 17

/// SIGTERM, SIGINT and SIGQUIT ask usher to shut down; every other signal is forwarded.
public func isStopRequest(_ sig: Int32) -> Bool {
    sig == sigterm || sig == sigint || sig == sigquit
}
