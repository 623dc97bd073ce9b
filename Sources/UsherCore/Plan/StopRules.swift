// The stop settings' rules, one set for both front ends: the Pod-spec decoder
// (`lifecycle.stopSignal`, `lifecycle.preStop.sleep`, `terminationGracePeriodSeconds`) and the
// command line with its variables (`--stop-signal`, `--pre-stop`, `--grace`, USHER_STOP_SIGNAL,
// USHER_PRE_STOP, USHER_GRACE). Each rule returns nil when the setting is fine, else what is
// wrong with it; the caller says where it was written (FILE:LINE:COLUMN, or the flag or
// variable), so a setting is refused the same way whichever front end it came through.

let sigstop: Int32 = 19

/// Why `signal` cannot be a stop signal, nil when it can. Kubernetes takes any Linux signal by
/// name as `lifecycle.stopSignal`; usher refuses the two no process can catch, SIGKILL and
/// SIGSTOP (neither can ask for a graceful stop, and a stop signal of SIGKILL would kill before
/// the deadline), and the C library's own 32 and 33 (Kubernetes has no name for them, and usher
/// drops them when it receives them). Signals that stop nothing by default (SIGCHLD, SIGWINCH,
/// ...) are allowed as in Kubernetes: an app may handle one as its stop (httpd: SIGWINCH).
func stopSignalProblem(_ signal: Int32) -> String? {
    if signal == sigkill || signal == sigstop {
        return signalName(signal) + " cannot be caught, so it cannot ask for a graceful stop (use a signal such as SIGTERM)"
    }
    if isReservedByLibc(signal) {
        return signalName(signal) + " is reserved by the C library (use a signal such as SIGTERM)"
    }
    return nil
}

/// Why a preStop sleep of `sleep` does not fit in the grace period `grace`, nil when it does:
/// Kubernetes' validateSleepAction, which allows at most terminationGracePeriodSeconds, since
/// the grace period counts from before the preStop hook. `graceSource` names where the grace
/// period was set.
func preStopProblem(_ sleep: Nanos, grace: Nanos, graceSource: String, hook: String = "preStop") -> String? {
    guard sleep > grace else { return nil }
    return "a " + hook + " sleep of " + formatDuration(sleep) + " is longer than the grace period of " + formatDuration(grace)
        + " (" + graceSource + "), which it counts against"
}
