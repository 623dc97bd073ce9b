import CUsher

/// The one error type of the system layer: which call failed and its errno.
public struct SystemError: Error, Equatable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32 = cusher_errno()) {
        self.call = call
        self.errno = errno
    }

    public var message: String { "\(call): \(errorText(errno))" }
}

public func errorText(_ errno: Int32) -> String {
    guard let text = cusher_strerror(errno) else { return "error \(errno)" }
    return String(cString: text)
}

/// The EINTR policy, in one place: usher blocks every signal it handles and reads them from a
/// signalfd, so EINTR should not happen; if it does (a debugger attaching, SIGSTOP/SIGCONT), the
/// call is simply made again.
@inline(__always)
func retryingEINTR(_ body: () -> Int32) -> Int32 {
    while true {
        let r = body()
        if r >= 0 || cusher_errno() != EINTR { return r }
    }
}

@inline(__always)
func retryingEINTR(_ body: () -> Int) -> Int {
    while true {
        let r = body()
        if r >= 0 || cusher_errno() != EINTR { return r }
    }
}
