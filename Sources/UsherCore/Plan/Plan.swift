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

    /// What a probe checks or a lifecycle hook does: Kubernetes' handler. Probes take exec,
    /// tcpSocket and httpGet; lifecycle hooks (postStart, preStop) take exec, httpGet and sleep.
    public enum Handler: Equatable {
        /// Run this command (as a child of usher, with the container's user, environment and
        /// working directory); passes when it exits 0.
        case exec([String])
        /// Passes when a TCP connect to the URL's address and port succeeds.
        case tcp(HTTPURL)
        /// An HTTP GET; a probe passes on a status from 200 to 399, a hook whatever the status.
        case http(HTTPURL, headers: [Header])
        /// Wait this long (hooks only).
        case sleep(Nanos)
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
        public var check: Handler
        public var initialDelay: Nanos = 0
        public var period: Nanos = 10 * nanosPerSecond
        public var timeout: Nanos = nanosPerSecond
        public var successThreshold = 1
        public var failureThreshold = 3
        /// How long a container stopped because this probe failed may take before SIGKILL
        /// (`terminationGracePeriodSeconds` of the probe); nil: the pod's grace period.
        public var terminationGrace: Nanos?
        /// An exec check's command as written, when `$(VAR)` expansion changed it: what
        /// messages show (as `Container.writtenArgv`), so an expanded value never reaches the log.
        public var writtenCommand: [String]?

        public init(check: Handler) { self.check = check }
    }

    public enum ProbeKind: Equatable {
        case startup
        case readiness
        case liveness
    }

    /// The two lifecycle hooks.
    public enum HookKind: Equatable {
        case postStart
        case preStop
    }

    /// What a handler is run for: one of a container's probes or hooks.
    public enum HandlerUse: Equatable {
        case probe(ProbeKind)
        case hook(HookKind)
    }

    /// Kubernetes' restart policies, for the pod (`spec.restartPolicy`) and, from KEP-5307, for
    /// a container (`restartPolicy` of a regular or init container).
    public enum RestartPolicy: Equatable {
        case always
        case onFailure
        case never
    }

    /// A container restart rule (KEP-5307, `restartPolicyRules`): restart the container when
    /// its exit code is (`In`) or is not (`NotIn`) one of `values`. The only action Kubernetes
    /// has is Restart.
    public struct RestartRule: Equatable {
        public var exitCodesIn: Bool
        public var values: [Int32]
        public init(exitCodesIn: Bool, values: [Int32]) {
            self.exitCodesIn = exitCodesIn
            self.values = values
        }

        public func matches(_ code: Int32) -> Bool { values.contains(code) == exitCodesIn }
    }

    /// One container, in Kubernetes' sense and word (a `--sidecar` and the main command are
    /// containers too): what usher starts for it is its process, which leads the container's
    /// process group; its hooks and exec probes run inside it.
    public struct Container: Equatable {
        /// The oom_score_adj it gets when sidecars get `sidecars` (`--oom-score-adj`), so that
        /// the kernel picks a sidecar before the main process: sidecars only.
        func oomScoreAdj(sidecars: Int32?) -> Int32? {
            role == .sidecar ? sidecars : nil
        }

        public var name: String
        public var argv: [String]
        /// The command as the file wrote it, when `$(VAR)` expansion changed it: `usher check`
        /// shows this, so an expanded secret is not printed.
        public var writtenArgv: [String]?
        public var role: Role
        /// `NAME=value` entries laid over usher's own environment (the container's `env`).
        public var env: [String] = []
        /// Variables read from files at each start (`fileKeyRef`, `--env-file`), laid in among
        /// `env` at their positions.
        public var envFiles: [EnvFileRef] = []
        public var workingDir: String?
        /// `securityContext.runAsUser` / `runAsGroup`: usher drops to them before exec, with the
        /// supplementary groups cleared.
        public var user: UInt32?
        public var group: UInt32?
        /// `allowPrivilegeEscalation: false`: the process (and what it execs) cannot gain
        /// privileges, setuid binaries included (PR_SET_NO_NEW_PRIVS).
        public var noNewPrivileges = false
        /// `lifecycle.postStart`: run once it has started; the next container waits for it, and a
        /// failure kills the container (its preStop first), which then restarts by its policy.
        public var postStart: Handler?
        /// `lifecycle.preStop`: run when it is to be stopped, before its stop signal.
        public var preStop: Handler?
        /// The container's own `restartPolicy` (KEP-5307); nil: the pod's. (A sidecar is an init
        /// container with restartPolicy Always: its role says so.)
        public var restartPolicy: RestartPolicy?
        /// `restartPolicyRules`, checked in order on each exit before the restart policy.
        public var restartRules: [RestartRule] = []
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

        public func hook(_ kind: HookKind) -> Handler? {
            switch kind {
            case .postStart: return postStart
            case .preStop: return preStop
            }
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
    public var containers: [Container]
    /// One deadline for the whole shutdown, counted from the stop request (or from a main
    /// container's own exit); at the deadline every process still alive gets SIGKILL.
    public var grace: Nanos
    /// The least time any process gets between its stop signal and SIGKILL
    /// (`--min-stop-window`): at `deadline - minStopWindow` everything not yet signalled gets its
    /// stop signal, whatever it was waiting for, so the deadline itself never moves.
    public var minStopWindow: Nanos = Plan.defaultMinStopWindow
    /// The pod's `restartPolicy`: Always for a Deployment and on the command line (the first
    /// main container's exit ends the pod, and the engine above restarts the container), Never
    /// or OnFailure for a Job.
    public var restartPolicy: RestartPolicy = .always
    /// `--remap-exit`: these statuses of usher's become 0 (tini's `-e`).
    public var successCodes: [Int32] = []
    /// `--stop-is-success`: when usher was asked to stop and the main container ended by its
    /// stop signal (or with 128 + it), usher exits 0.
    public var stopIsSuccess = false

    public static let defaultGrace: Nanos = 30 * nanosPerSecond
    /// usher's own exit status where no main container's status is the answer (README, "Exit
    /// status"): an init container failed, so no main container ran.
    public static let startupFailedStatus: Int32 = 120
    /// The kubelet's minimumGracePeriodInSeconds.
    public static let defaultMinStopWindow: Nanos = 2 * nanosPerSecond

    public init(containers: [Container], grace: Nanos = Plan.defaultGrace) {
        self.containers = containers
        self.grace = grace
    }

    public var mainIndices: [Int] { containers.indices.filter { containers[$0].role == .main } }
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

extension Plan.Role {
    /// `init`, `sidecar` or `main`: the role's one name, in the status file, `usher status` and
    /// the rehearsal's JSON report.
    var name: String {
        switch self {
        case .initStep: return "init"
        case .sidecar: return "sidecar"
        case .main: return "main"
        }
    }

    /// The role whose `name` is `name`, compared byte by byte.
    init?(named name: String) {
        if same(name, Plan.Role.initStep.name) {
            self = .initStep
        } else if same(name, Plan.Role.sidecar.name) {
            self = .sidecar
        } else if same(name, Plan.Role.main.name) {
            self = .main
        } else {
            return nil
        }
    }
}

/// `postStart` or `preStop`, as Kubernetes names its hooks.
public func hookName(_ kind: Plan.HookKind) -> String {
    kind == .preStop ? "preStop" : "postStart"
}

/// `startup`, `readiness` or `liveness`, as Kubernetes names its probes.
public func probeName(_ kind: Plan.ProbeKind) -> String {
    switch kind {
    case .startup: return "startup"
    case .readiness: return "readiness"
    case .liveness: return "liveness"
    }
}
