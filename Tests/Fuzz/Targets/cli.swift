// Target `cli`: parseInvocation, the command line, USHER_* variables and the file -f names.
//
// The input, up to its first 0x02 byte, is split on NUL bytes into words: a word that starts
// with 0x01 is an environment entry NAME=VALUE (the rest of the word), any other word a
// command-line argument, in order. Everything after the first 0x02 is the config file's
// content, whatever path -f or USHER_CONFIG names; a path that starts with `!` cannot be read.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let split = bytes.firstIndex(of: 2) ?? bytes.count
    let file = split < bytes.count ? Array(bytes[(split + 1)...]) : []
    var arguments: [String] = []
    var environment: [(String, String)] = []
    for word in bytes[..<split].split(separator: 0, omittingEmptySubsequences: false) {
        if word.first == 1 {
            let entry = word.dropFirst()
            let eq = entry.firstIndex(of: 61) ?? entry.endIndex
            let value = eq < entry.endIndex ? entry[(eq + 1)...] : []
            environment.append((cString(entry[..<eq]), cString(value)))
        } else {
            arguments.append(cString(word))
        }
    }
    let env: (String) -> String? = { name in
        environment.last(where: { $0.0.utf8.elementsEqual(name.utf8) })?.1
    }
    let context = "arguments: \(arguments)\nenvironment: \(environment)"
    do {
        let invocation = try parseInvocation(arguments, env: env, readFile: { path throws(UsageError) in
            if path.utf8.first == 33 { throw UsageError("\(path): cannot read the config file: No such file or directory") }
            return file
        })
        switch invocation {
        case .run(let plan, let options):
            checkPlan(plan, context)
            if let adj = options.sidecarOOMScoreAdj, adj < -1000 || adj > 1000 { broken("oom_score_adj \(adj)", context) }
            if plan.successCodes.contains(where: { $0 < 0 || $0 > 255 }) { broken("a remapped status out of range", context) }
        case .check(let plan):
            checkPlan(plan, context)
        case .rehearse(let plan, _, let options):
            checkPlan(plan, context)
            if options.repeatCount < 1 || options.after < 0 || (options.probeFor ?? 0) < 0 {
                broken("rehearse options out of range", context)
            }
            for url in options.probes { checkURL(url, context) }
        case .status(let path, _):
            if path.isEmpty { broken("usher status with an empty path", context) }
        case .help, .version:
            break
        }
    } catch {
        checkUsageMessage(error.message, context)
    }
    return 0
}
