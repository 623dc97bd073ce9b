/// usher's entry point: parse, take over signals, then run the supervisor in one
/// single-threaded event loop until it says exit. Returns usher's exit status.
public func usherMain() -> Int32 {
    // Every argument and variable byte for byte, whatever its encoding (see OSString).
    let invocation: Invocation
    do {
        invocation = try parseInvocation(processArguments(), env: environmentValue, readFile: { path throws(UsageError) in
            switch readWholeFile(path) {
            case .success(let bytes): return bytes
            case .failure(let e):
                throw UsageError("\(path): cannot read the config file: \(errorText(e.errno))")
            }
        })
    } catch {
        writeAll(2, "usher: \(OSString.printable(error.message))\n")
        return 2
    }
    switch invocation {
    case .help:
        return printResult(usageText)
    case .version:
        return printResult("usher \(usherVersion) (commit \(buildCommit()))\n")
    case .check(let plan):
        return printResult(OSString.printable(planText(resolved(plan), podAddress: ownAddress()), keepingLines: true))
    case .status(let path, let json):
        return statusCommand(path: path, json: json)
    case .run(let plan, let options):
        // The children must not inherit usher's own notify socket: they would report for it.
        if options.notifySocket != nil { removeEnvironmentValue("NOTIFY_SOCKET") }
        // The default status file is a container's (usher as PID 1): on a laptop, several
        // ushers would share /run/usher; there, --status-file names one.
        let statusFile = options.statusFileNamed || isProcessOne() ? options.statusFile : nil
        let reporter = Reporter(Reporter.Options(
            statusFile: statusFile, statusFileNamed: options.statusFileNamed,
            notifySocket: options.notifySocket, terminationLog: options.terminationLog,
            terminationLogNamed: options.terminationLogNamed))
        let loop: EventLoop
        do {
            loop = try EventLoop()
        } catch {
            writeAll(2, "usher: \(error.message)\n")
            return 1
        }
        var driver = Driver(plan: resolved(plan), options: options, loop: loop, companion: reporter)
        let status = driver.run() ?? 1
        loop.sweepLeftovers()
        reporter.finish(status: status)
        return status
    case .rehearse(let plan, let options, let rehearsal):
        return rehearse(resolved(plan), options, rehearsal)
    }
}

/// The plan resolved against the image (primary groups from /etc/passwd), once, for whichever
/// command shows or runs it: `usher check` prints the plan that runs.
private func resolved(_ plan: Plan) -> Plan {
    plan.withPrimaryGroups {
        if case .success(let bytes) = readWholeFile("/etc/passwd") { return bytes }
        return []
    }
}

/// `usher status`: 0 when the usher that keeps the status file at `path` is running and its
/// group is up (every main container ready, every sidecar started), else 1; the states on
/// stdout. Fit for a HEALTHCHECK or an exec probe of the container usher runs in.
func statusCommand(path: String, json: Bool) -> Int32 {
    // The policy of a container's files (ContainerFiles): a FIFO planted at the path must not
    // hang a probe that runs this every few seconds.
    let bytes: [UInt8]
    switch readContainerFile(path, beneath: directoryOf(path), as: .usher, limit: 1 << 20) {
    case .success(let b): bytes = b
    case .failure(let problem) where problem.missing:
        writeAll(2, "usher: no status file at \(OSString.printable(path)) (is usher running, with a writable place for it? see --status-file)\n")
        return 1
    case .failure(let problem):
        writeAll(2, "usher: the status file \(OSString.printable(path)) cannot be read: \(problem.reason)\n")
        return 1
    }
    guard let report = parseStatusFile(bytes) else {
        writeAll(2, "usher: \(OSString.printable(path)) is not an usher status file\n")
        return 1
    }
    // A file left by an usher that is gone says nothing about now. (kill(0, 0) would ask about
    // this command's own process group, which always exists.)
    guard processExists(report.pid) else {
        writeAll(2, "usher: the usher that wrote \(OSString.printable(path)) (pid \(report.pid)) is not running\n")
        return 1
    }
    return printResult(statusText(report, json: json), status: report.up ? 0 : 1)
}
