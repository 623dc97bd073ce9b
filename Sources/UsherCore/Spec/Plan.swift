/// What to run and how to stop it: the resolved result of the command line, the environment, or
/// a Pod-spec file. The lifecycle engine reads only this. Both front ends produce the same model:
/// `--sidecar` is an init container with `restartPolicy: Always`, `--pre-stop` the main
/// container's preStop sleep.
public struct Plan: Equatable {
    public enum Role: Equatable {
        /// An init container: runs to completion, in order, before anything after it starts.
        case initStep
        /// An init container with `restartPolicy: Always`: starts in its position, keeps running,
        /// is restarted with back-off, and is stopped after the main containers, in reverse.
        case sidecar
        /// One of the pod's `containers`: started together once every init entry is through.
        case main
    }

    /// A lifecycle hook (`lifecycle.preStop`).
    public enum Hook: Equatable {
        /// `sleep.seconds`: wait, then send the stop signal.
        case sleep(Nanos)
        /// `exec.command`: run this command (as a child of usher, with the container's user,
        /// environment and working directory), then send the stop signal once it has exited.
        case exec([String])
    }

    public struct Header: Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A startup, readiness or liveness probe, with Kubernetes' defaults.
    public struct Probe: Equatable {
        public enum Check: Equatable {
            /// Passes when the command exits 0.
            case exec([String])
            /// Passes when a TCP connect succeeds. The address is IPv4 in network byte order.
            case tcp(host: String, address: UInt32, port: UInt16)
            /// Passes on an HTTP status from 200 to 399.
            case http(HTTPURL, headers: [Header])
        }

        public var check: Check
        public var initialDelay: Nanos = 0
        public var period: Nanos = 10 * nanosPerSecond
        public var timeout: Nanos = nanosPerSecond
        public var successThreshold = 1
        public var failureThreshold = 3
        /// How long a container stopped because this probe failed may take before SIGKILL
        /// (`terminationGracePeriodSeconds` of the probe); nil: the pod's grace period.
        public var terminationGrace: Nanos?

        public init(check: Check) { self.check = check }
    }

    public enum ProbeKind: Equatable {
        case startup
        case readiness
        case liveness
    }

    public struct Process: Equatable {
        public var name: String
        public var argv: [String]
        /// The command as the file wrote it, when `$(VAR)` expansion changed it: `usher check`
        /// shows this, so an expanded secret is not printed.
        public var writtenArgv: [String]?
        public var role: Role
        /// `NAME=value` entries laid over usher's own environment (the container's `env`).
        public var env: [String] = []
        public var workingDir: String?
        /// `securityContext.runAsUser` / `runAsGroup`: usher drops to them before exec, with the
        /// supplementary groups cleared.
        public var user: UInt32?
        public var group: UInt32?
        /// `allowPrivilegeEscalation: false`: the process (and what it execs) cannot gain
        /// privileges, setuid binaries included (PR_SET_NO_NEW_PRIVS).
        public var noNewPrivileges = false
        public var preStop: Hook?
        /// The signal that stops it (`lifecycle.stopSignal`); SIGTERM by default.
        public var stopSignal: Int32 = sigterm
        public var startupProbe: Probe?
        public var readinessProbe: Probe?
        public var livenessProbe: Probe?

        public init(name: String, argv: [String], role: Role) {
            self.name = name
            self.argv = argv
            self.role = role
        }

        public func probe(_ kind: ProbeKind) -> Probe? {
            switch kind {
            case .startup: return startupProbe
            case .readiness: return readinessProbe
            case .liveness: return livenessProbe
            }
        }
    }

    /// In start order: the init entries (init steps and sidecars) as given, then the main
    /// containers.
    public var processes: [Process]
    /// One deadline for the whole shutdown, counted from the stop request (or from a main
    /// container's own exit); at the deadline every process still alive gets SIGKILL.
    public var grace: Nanos

    public static let defaultGrace: Nanos = 30 * nanosPerSecond

    public init(processes: [Process], grace: Nanos = Plan.defaultGrace) {
        self.processes = processes
        self.grace = grace
    }

    public var mainIndices: [Int] { processes.indices.filter { processes[$0].role == .main } }
}

// Fixed Linux numbers, named once so the lifecycle does not need libc.
public let sighup: Int32 = 1
public let sigint: Int32 = 2
public let sigquit: Int32 = 3
public let sigkill: Int32 = 9
public let sigterm: Int32 = 15
public let sigchld: Int32 = 17

/// Signals 32 and 33: the C library's own (thread cancellation, set*id across threads), outside
/// SIGRTMIN (34). Sent from outside they are a mistake, and forwarded they would kill a main
/// process that has no handler it can install for them: usher takes them and drops them.
public func isReservedByLibc(_ sig: Int32) -> Bool { sig == 32 || sig == 33 }

/// SIGTERM, SIGINT and SIGQUIT ask usher to shut down; every other signal is forwarded.
public func isStopRequest(_ sig: Int32) -> Bool {
    sig == sigterm || sig == sigint || sig == sigquit
}
