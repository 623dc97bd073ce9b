/// How a process ended, as waitpid reports it.
public enum ExitStatus: Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// The shell's convention, which usher's own exit status follows: the code, or 128+N.
    public var code: Int32 {
        switch self {
        case .exited(let c): return c
        case .signaled(let s): return 128 + s
        }
    }
}

/// Why a process could not be started: usher exits 127 for a command that is not found and
/// 126 for one that cannot be executed, as shells do.
public struct SpawnFailure: Error, Equatable {
    public var code: Int32
    public var reason: String

    public init(code: Int32, reason: String) {
        self.code = code
        self.reason = reason
    }
}
