import CUsher

/// usher's entry point: parse, take over signals, then run the supervisor in one
/// single-threaded event loop until it says exit. Returns usher's exit status.
public func usherMain() -> Int32 {
    // Every argument and variable byte for byte, whatever its encoding (see OSString).
    var arguments: [String] = []
    let argv = cusher_argv()
    for i in 1..<max(1, Int(cusher_argc())) {
        if let arg = argv?[i] { arguments.append(OSString.decode(cString: arg)) }
    }
    let invocation: Invocation
    do {
        invocation = try parseInvocation(arguments, env: { name in
            guard let value = getenv(name) else { return nil }
            return OSString.decode(cString: value)
        }, readFile: { path throws(UsageError) in
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
        return printResult("usher \(usherVersion) (commit \(String(cString: cusher_build_commit())))\n")
    case .check(let plan):
        return printResult(OSString.printable(planText(plan, podAddress: ownAddress()), keepingLines: true))
    case .run(let plan, let options):
        do {
            var driver = try Driver(plan: plan, options: options)
            return driver.run()
        } catch {
            writeAll(2, "usher: \(error.message)\n")
            return 1
        }
    case .rehearse(let plan, let options, let rehearsal):
        return rehearse(plan, options, rehearsal)
    }
}
