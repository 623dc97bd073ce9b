import CUsher

// usher's own process: its pid, arguments and environment, and whether another process exists.

/// usher is PID 1 of its pid namespace.
func isProcessOne() -> Bool {
    getpid() == 1
}

/// usher's own pid (what its status file names).
func ownProcessID() -> Int32 {
    getpid()
}

/// The arguments usher was started with, after its own name, byte for byte (see OSString).
func processArguments() -> [String] {
    var arguments: [String] = []
    let argv = cusher_argv()
    for i in 1..<max(1, Int(cusher_argc())) {
        if let arg = argv?[i] { arguments.append(OSString.decode(cString: arg)) }
    }
    return arguments
}

/// The value of environment variable `name` in usher's environment, byte for byte.
func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return OSString.decode(cString: value)
}

/// Removes `name` from usher's environment, before any child is started (children inherit it).
func removeEnvironmentValue(_ name: String) {
    unsetenv(name)
}

/// Whether process `pid` exists (signal 0 checks without sending; EPERM: it exists, as another
/// user's). Not for 0 or below, which would ask about process groups.
func processExists(_ pid: Int32) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || cusher_errno() == EPERM)
}

/// The commit the binary was built from, for --version.
func buildCommit() -> String {
    String(cString: cusher_build_commit())
}
