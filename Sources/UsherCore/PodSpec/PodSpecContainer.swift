/// The part of a `securityContext` usher acts on: it switches user and group and nothing else
/// (capabilities, seccomp, SELinux belong to the container runtime, for the whole container).
struct Identity {
    var user: UInt32?
    var group: UInt32?
    var nonRoot: Bool?
    /// `allowPrivilegeEscalation` (container level only, as in Kubernetes).
    var allowEscalation: Bool?
    /// Where `runAsNonRoot` was set, for the error when it cannot hold.
    var nonRootNode: YAMLNode?
}

/// Security fields accepted and ignored, pod level and container level.
private let ignoredPodSecurityFields = nameList("""
    fsGroup fsGroupChangePolicy seccompProfile sysctls supplementalGroups
    supplementalGroupsPolicy seLinuxOptions seLinuxChangePolicy windowsOptions
    appArmorProfile
    """)
private let ignoredContainerSecurityFields = nameList("""
    capabilities privileged seLinuxOptions windowsOptions readOnlyRootFilesystem procMount
    seccompProfile appArmorProfile
    """)

/// Container fields accepted and ignored: the image is already there, and resources, mounts and
/// terminals belong to the container runtime. (`ports` is read only to resolve named probe ports.)
let ignoredContainerFields = nameList("""
    image imagePullPolicy resources resizePolicy volumeDevices terminationMessagePath
    terminationMessagePolicy stdin stdinOnce tty
    """)

/// Kubernetes' user and group ids: anything but -1 as an unsigned 32-bit number.
private let maxID: Int64 = 4_294_967_294

/// The `securityContext` of a pod spec or a container (`owner`).
func decodeIdentity(_ owner: Fields, container: Bool) throws(UsageError) -> Identity {
    var identity = Identity()
    let used = ["runAsUser", "runAsGroup", "runAsNonRoot"] + (container ? ["allowPrivilegeEscalation"] : [])
    guard let s = try owner.mapping(
        "securityContext", used: used, ignored: container ? ignoredContainerSecurityFields : ignoredPodSecurityFields)
    else {
        return identity
    }
    identity.user = try s.integer("runAsUser", min: 0, max: maxID).map { UInt32(truncatingIfNeeded: $0) }
    identity.group = try s.integer("runAsGroup", min: 0, max: maxID).map { UInt32(truncatingIfNeeded: $0) }
    identity.nonRoot = try s.bool("runAsNonRoot")
    identity.nonRootNode = s["runAsNonRoot"]
    if container { identity.allowEscalation = try s.bool("allowPrivilegeEscalation") }
    return identity
}

/// One entry of `initContainers` or `containers` as a process; also returns its name's node,
/// for the message when another container has the same name.
/// `planBytes` counts the argv and env of the containers decoded so far, against maxPlanBytes.
func decodeContainer(_ c: Fields, isInit: Bool, pod: Identity, graceSeconds: Int64, graceSource: String,
                     osIsLinux: Bool, planBytes: inout Int) throws(UsageError) -> (Plan.Container, YAMLNode) {
    let nameNode = try c.required("name")
    var statics = Variables()
    var process = try decodeProcess(c, nameNode, isInit: isInit, planBytes: &planBytes, statics: &statics)
    try decodeSecurityAndHooks(c, into: &process, pod: pod, graceSeconds: graceSeconds, graceSource: graceSource,
                               osIsLinux: osIsLinux, statics: statics)
    return (process, nameNode)
}

/// A container's name, role, restart policy and rules, env and command: its process. (Two
/// out-of-line halves rather than one function: an error exit in either releases only what
/// that half holds.) `statics`: the env entries as written, for the exec probes (see
/// `expandProbeCommand`).
@inline(never)  // size: frame
private func decodeProcess(_ c: Fields, _ nameNode: YAMLNode, isInit: Bool, planBytes: inout Int,
                           statics: inout Variables) throws(UsageError) -> Plan.Container {
    let name = try readString(c.file, nameNode, c.path("name"))
    guard isDNSLabel(name) else {
        throw c.error(nameNode, "name", nameNode.shown + " is not a valid name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)")
    }

    var role: Plan.Role = isInit ? .initStep : .main
    // A container's own restartPolicy (KEP-5307): Always makes an init container a sidecar; a
    // regular container takes any of the three, an init container OnFailure or Never too.
    var ownPolicy: Plan.RestartPolicy?
    if let text = try c.string("restartPolicy") {
        let node = c["restartPolicy"] ?? c.node
        guard let policy = restartPolicyNamed(text) else {
            throw c.error(node, "restartPolicy", node.shown + " is not a restart policy (use Always, OnFailure or Never)")
        }
        if isInit && policy == .always { role = .sidecar } else { ownPolicy = policy }
    }

    if let key = c.key("envFrom") {
        throw c.error(key, "envFrom", "not supported: usher cannot read ConfigMaps or Secrets (list the variables under env, each with a value)")
    }
    var env: [String] = []  // NAME=value, as Plan.Container.env wants them
    var variables = Variables()
    var budget = ExecBudget(file: c.file, container: name, planBytes: planBytes)
    defer { planBytes = budget.planBytes }
    // No message shows anything under env but the variables' names: the values may be secrets.
    var envFiles: [EnvFileRef] = []
    for e in try c.mappings("env", of: "variables (name and value)", used: ["name", "value", "valueFrom"], hidingValues: true) ?? [] {
        let nameNode = try e.required("name")
        let variable = try readString(c.file, nameNode, e.path("name"))
        // Kubernetes' relaxed rule: printable ASCII other than '='.
        guard !variable.isEmpty, variable.utf8.allSatisfy({ $0 >= 32 && $0 <= 126 && $0 != 61 }) else {
            throw invalidVariableName(e, nameNode, variable)
        }
        if e.key("valueFrom") != nil {
            var ref = try decodeFileKeyRef(e, container: c)
            ref.name = variable
            ref.position = env.count
            envFiles.append(ref)
            statics.define(Array(variable.utf8), [])  // its Value is empty in the API object
            continue
        }
        // As the kubelet does: a value sees the variables before it.
        let written = try e.string("value") ?? ""
        env.append(try budget.entry(variable, written, e["value"] ?? nameNode, e, &variables))
        statics.define(Array(variable.utf8), Array(written.utf8))
    }

    _ = try c.required("command", why: ": usher has no image ENTRYPOINT to fall back on")
    let argv = try (c.command("command") ?? []) + (c.strings("args") ?? [])
    // Command and args see the container's whole env.
    var expanded: [String] = []
    for field in ["command", "args"] {
        for (i, node) in (try c.items(field, of: "strings") ?? []).enumerated() {
            expanded.append(try budget.word(argv[expanded.count], node, c, field, i, variables))
        }
    }
    var process = Plan.Container(name: name, argv: expanded, role: role)
    process.restartPolicy = ownPolicy
    process.restartRules = try decodeRestartRules(c, role: role, hasPolicy: ownPolicy != nil)
    if !process.argv.elementsEqual(argv, by: same) { process.writtenArgv = argv }
    process.env = env
    process.envFiles = envFiles
    if let dir = try c.string("workingDir"), !dir.isEmpty { process.workingDir = dir }
    return process
}

/// The rest of a container: its user and group, hooks and probes.
@inline(never)  // size: frame
private func decodeSecurityAndHooks(_ c: Fields, into process: inout Plan.Container, pod: Identity, graceSeconds: Int64,
                                    graceSource: String, osIsLinux: Bool, statics: Variables) throws(UsageError) {
    let role = process.role
    let own = try decodeIdentity(c, container: true)
    process.user = own.user ?? pod.user
    process.group = own.group ?? pod.group
    process.noNewPrivileges = own.allowEscalation == false
    if own.nonRoot ?? pod.nonRoot ?? false, process.user ?? 0 == 0, let node = own.nonRootNode ?? pod.nonRootNode {
        // The kubelet checks the image's USER when runAsUser is unset; usher has no image, and
        // would run the process as whoever usher is: refuse rather than guess.
        throw locatedError(c.file, node, c.path, "runAsNonRoot is true but " + (process.user == nil
            ? "runAsUser is not set and usher has no image USER to check"
            : "runAsUser is 0") + " (set securityContext.runAsUser to a non-zero user id)")
    }

    let lifecycleAndProbes = ["lifecycle", "startupProbe", "readinessProbe", "livenessProbe"]
    if role == .initStep {
        // Kubernetes' validation: only restartable init containers (sidecars) may have these.
        for field in lifecycleAndProbes {
            if let key = c.key(field) { throw c.error(key, field, "may not be set for an init container without restartPolicy: Always") }
        }
    }
    try decodeLifecycle(c, into: &process, graceSeconds: graceSeconds, graceSource: graceSource, osIsLinux: osIsLinux)
    process.startupProbe = try decodeProbe(c, "startupProbe", statics)
    process.readinessProbe = try decodeProbe(c, "readinessProbe", statics)
    process.livenessProbe = try decodeProbe(c, "livenessProbe", statics)
}

/// A DNS label (RFC 1123), as Kubernetes requires of container names.
private func isDNSLabel(_ name: String) -> Bool {
    let b = Array(name.utf8)
    func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    guard let first = b.first, let last = b.last, b.count <= 63, alnum(first), alnum(last) else { return false }
    return b.allSatisfy { alnum($0) || $0 == 45 }
}

@inline(never)  // size: frame
private func decodeLifecycle(_ c: Fields, into process: inout Plan.Container, graceSeconds: Int64, graceSource: String,
                             osIsLinux: Bool) throws(UsageError) {
    guard let l = try c.mapping("lifecycle", used: ["preStop", "postStart", "stopSignal"]) else { return }
    if let text = try l.string("stopSignal") {
        let node = l["stopSignal"] ?? l.node
        // The API server's rule: a stop signal names a signal of the pod's operating system, so
        // the pod must say which (spec.os.name).
        guard osIsLinux else {
            throw l.error(node, "stopSignal", "requires spec.os.name: linux in the pod spec, as Kubernetes does")
        }
        guard let signal = apiStopSignal(text) else {
            throw l.error(node, "stopSignal", "unknown signal " + node.shown + " (Kubernetes takes names such as SIGTERM, SIGINT, SIGQUIT or SIGRTMIN+1)")
        }
        if let problem = stopSignalProblem(signal) { throw l.error(node, "stopSignal", problem) }
        process.stopSignal = signal
    }
    process.postStart = try decodeHook(l, "postStart", container: c, graceSeconds: graceSeconds, graceSource: graceSource)
    process.preStop = try decodeHook(l, "preStop", container: c, graceSeconds: graceSeconds, graceSource: graceSource)
}

/// One lifecycle hook: exec, httpGet or sleep, as the kubelet runs them. A sleep may not be
/// longer than the grace period (the API server's validateSleepAction, for both hooks); a zero
/// sleep is no hook at all, as `--pre-stop 0s` is.
@inline(never)  // size: frame
private func decodeHook(_ l: Fields, _ field: String, container c: Fields, graceSeconds: Int64,
                        graceSource: String) throws(UsageError) -> Plan.Handler? {
    let handlers = ["exec", "sleep", "httpGet", "tcpSocket"]
    guard let h = try l.mapping(field, used: handlers) else { return nil }
    switch try oneHandler(h, among: handlers, supported: "exec, httpGet or sleep") {
    case 0:
        return .exec(try decodeExec(h))
    case 1:
        guard let sleep = try h.mapping("sleep", used: ["seconds"]) else { return nil }  // present: oneHandler saw it
        let seconds = try sleep.integer("seconds", min: 0) ?? 0
        if let problem = preStopProblem(seconds * nanosPerSecond, grace: graceSeconds * nanosPerSecond,
                                        graceSource: graceSource, hook: field) {
            throw sleep.error(sleep["seconds"] ?? sleep.node, "seconds", problem)
        }
        return seconds == 0 ? nil : .sleep(seconds * nanosPerSecond)
    case 2:
        return try decodeHTTPGet(h, container: c)
    default:
        throw h.error(h.key("tcpSocket") ?? h.node, "tcpSocket",
                      "is not a lifecycle handler the kubelet runs (it is kept in the API only for compatibility): use exec, httpGet or sleep")
    }
}

/// `restartPolicyRules` (KEP-5307) with the API server's validation: the container must have
/// a restartPolicy of its own, at most 20 rules, each `action: Restart` with `exitCodes`
/// (`operator` In or NotIn, at most 255 `values`).
@inline(never)  // size: frame
private func decodeRestartRules(_ c: Fields, role: Plan.Role, hasPolicy: Bool) throws(UsageError) -> [Plan.RestartRule] {
    guard let rules = try c.mappings("restartPolicyRules", of: "rules (action and exitCodes)", used: ["action", "exitCodes"]) else { return [] }
    let key = c.key("restartPolicyRules") ?? c.node
    if role == .sidecar {
        throw c.error(key, "restartPolicyRules", "has no effect on a sidecar: restartPolicy Always restarts it whatever its exit code")
    }
    guard hasPolicy else {
        throw c.error(key, "restartPolicyRules", "requires the container's own restartPolicy (Always, OnFailure or Never)")
    }
    if rules.count > 20 { throw c.error(key, "restartPolicyRules", "has \(rules.count) rules; at most 20 are allowed") }
    var out: [Plan.RestartRule] = []
    for r in rules {
        let actionNode = try r.required("action")
        guard same(try readString(r.file, actionNode, r.path("action")), "Restart") else {
            throw r.error(actionNode, "action", actionNode.shown + " is not an action (the only one is Restart)")
        }
        guard let codes = try r.mapping("exitCodes", used: ["operator", "values"]) else {
            throw r.error(r.node, "exitCodes", "is required: the exit codes the rule matches")
        }
        let opNode = try codes.required("operator")
        let op = try readString(codes.file, opNode, codes.path("operator"))
        guard same(op, "In") || same(op, "NotIn") else {
            throw codes.error(opNode, "operator", opNode.shown + " is not an operator (use In or NotIn)")
        }
        let valueNodes = try codes.items("values", of: "exit codes") ?? []
        if valueNodes.count > 255 {
            throw codes.error(codes["values"] ?? codes.node, "values", "has \(valueNodes.count) exit codes; at most 255 are allowed")
        }
        var values: [Int32] = []
        for (k, node) in valueNodes.enumerated() {
            guard case .int(let parsed) = node.resolvedScalar, let v = parsed, v >= Int64(Int32.min), v <= Int64(Int32.max) else {
                throw typeError(codes.file, node, indexed(codes.path("values"), k), expected: "an exit code (an integer)")
            }
            values.append(Int32(v))
        }
        out.append(Plan.RestartRule(exitCodesIn: same(op, "In"), values: values))
    }
    return out
}

/// `name: TOKEN=s3cr3t` is a value written into the name: the message shows the name part only.
@inline(never)  // cold
private func invalidVariableName(_ e: Fields, _ node: YAMLNode, _ variable: String) -> UsageError {
    let bytes = Array(variable.utf8)
    let shown = bytes.firstIndex(of: 61).map { quoted(String(decoding: bytes[..<$0], as: UTF8.self) + "=...") + " (the value goes under value)" }
    return e.error(node, "name", (node.aliased ? node.shown : shown ?? node.shown) + " is not a valid variable name (printable ASCII characters other than '=')")
}

/// What exec will be given of one container (each argv word and env entry with its NUL), and of
/// all the containers so far, against the bounds in Expansion.swift; and the messages when a
/// string or a total is past them, which name the container and never show a value.
struct ExecBudget {
    let file: String
    let container: String
    var planBytes: Int
    var execBytes = 0

    /// The env entry `name=value`, `written` expanded with the variables before it (which it
    /// joins), as Plan.Container.env holds it.
    @inline(never)  // size: shared
    mutating func entry(_ name: String, _ written: String, _ node: YAMLNode, _ e: Fields, _ variables: inout Variables) throws(UsageError) -> String {
        guard let value = expandReferences(written, variables, limit: maxArgumentBytes - 2 - name.utf8.count) else {
            let short = name.utf8.count <= 60 ? name : String(decoding: Array(name.utf8.prefix(60)), as: UTF8.self) + "..."
            throw e.error(node, "value", tooLongText("the entry " + short + "=... of container " + container, written))
        }
        try add(name.utf8.count + 1 + value.utf8.count, node, e, "value", nil)
        variables.define(Array(name.utf8), Array(value.utf8))
        return name + "=" + value
    }

    /// Word `index` of the container's `field` (command or args), `written`, expanded.
    @inline(never)  // size: shared
    mutating func word(_ written: String, _ node: YAMLNode, _ c: Fields, _ field: String, _ index: Int, _ variables: Variables) throws(UsageError) -> String {
        let program = index == 0 && same(field, "command")
        guard let value = expandReferences(written, variables, limit: maxArgumentBytes - 1) else {
            throw locatedError(file, node, indexed(c.path(field), index),
                               tooLongText((program ? "the program" : "the argument") + " of container " + container, written))
        }
        if program && value.isEmpty {
            throw locatedError(file, node, indexed(c.path(field), index), "the program of container " + container + " is empty with its $(VAR) references expanded")
        }
        try add(value.utf8.count, node, c, field, index)
        return value
    }

    @inline(never)  // size: shared
    private mutating func add(_ bytes: Int, _ node: YAMLNode, _ fields: Fields, _ field: String, _ index: Int?) throws(UsageError) {
        execBytes += bytes + 1
        planBytes += bytes + 1
        guard execBytes > maxExecBytes || planBytes > maxPlanBytes else { return }
        let path = index.map { indexed(fields.path(field), $0) } ?? fields.path(field)
        throw locatedError(file, node, path, execBytes > maxExecBytes
            ? "the command, args and env of container " + container
                + " come to more than 2 MiB with their $(VAR) references expanded, more than exec takes (ARG_MAX with the default 8 MiB stack)"
            : "the commands, args and env of the file's containers come to more than 8 MiB with their $(VAR) references expanded")
    }
}

/// `what` (an argument or environment entry, never its value) is too long for exec; `written`
/// is what the file says, to tell whether expansion made it so.
@inline(never)  // size: shared
func tooLongText(_ what: String, _ written: String) -> String {
    what + " is longer than 128 KiB" + (written.utf8.contains(36) ? " with its $(VAR) references expanded" : "")
        + ", more than Linux passes to a program in one argument or environment entry (MAX_ARG_STRLEN)"
}

/// The index in `names` of the one handler a preStop hook or a probe sets: none, or more than
/// one, is an error.
func oneHandler(_ fields: Fields, among names: [String], supported: String) throws(UsageError) -> Int {
    var found: Int?
    for (i, name) in names.enumerated() {
        guard let key = fields.key(name) else { continue }
        if let first = found {
            throw locatedError(fields.file, key, fields.path, "has both " + names[first] + " and " + name + " (give exactly one handler)")
        }
        found = i
    }
    guard let found else { throw locatedError(fields.file, fields.node, fields.path, "needs a handler (" + supported + ")") }
    return found
}

/// `exec: {command: [...]}` of a handler. Not expanded: the kubelet expands only a container's
/// command and args.
func decodeExec(_ handler: Fields) throws(UsageError) -> [String] {
    guard let e = try handler.mapping("exec", used: ["command"]) else { return [] }  // oneHandler saw it
    _ = try e.required("command")
    let argv = try e.command("command") ?? []
    for (i, node) in (try e.items("command", of: "strings") ?? []).enumerated() where argv[i].utf8.count >= maxArgumentBytes {
        throw locatedError(e.file, node, indexed(e.path("command"), i), tooLongText(i == 0 ? "the program" : "the argument", ""))
    }
    return argv
}

/// The `mountPath` of the container's volume mount named `volume` (the last, if several).
@inline(never)  // size: frame
private func mountPath(_ c: Fields, _ volume: String) throws(UsageError) -> String? {
    var mountPath: String?
    for m in try c.mappings("volumeMounts", of: "volume mounts", used: ["name", "mountPath"],
                            ignored: ["readOnly", "subPath", "subPathExpr", "mountPropagation", "recursiveReadOnly"]) ?? [] {
        if let n = try m.string("name"), same(n, volume) {
            let node = try m.required("mountPath")
            mountPath = try readString(m.file, node, m.path("mountPath"))
        }
    }
    return mountPath
}

/// `valueFrom.fileKeyRef` (KEP-3721): `key` of the env file at `path` inside the volume mount
/// `volumeName` of this container, read when it starts. Other `valueFrom` sources (ConfigMaps,
/// Secrets, the downward API) need the API server and are refused.
@inline(never)  // size: frame
private func decodeFileKeyRef(_ e: Fields, container c: Fields) throws(UsageError) -> EnvFileRef {
    let others = ["configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef"]
    guard let from = try e.mapping("valueFrom", used: ["fileKeyRef"] + others) else { return EnvFileRef(path: "") }
    guard others.allSatisfy({ from.key($0) == nil }),
          let f = try from.mapping("fileKeyRef", used: ["path", "key", "volumeName", "optional"]) else {
        throw e.error(e.key("valueFrom") ?? e.node, "valueFrom",
                      "usher cannot read ConfigMaps, Secrets or the downward API (set the variable with value, or read it from a file with fileKeyRef)")
    }
    let pathNode = try f.required("path")
    let path = try readString(f.file, pathNode, f.path("path"))
    let parts = splitBytes(Array(path.utf8)[...], 47, omittingEmpty: false)
    guard !path.isEmpty, path.utf8.first != 47, !parts.contains(where: { $0.elementsEqual("..".utf8) }) else {
        throw f.error(pathNode, "path", "must be a relative path within the volume, without '..'")
    }
    let keyNode = try f.required("key")
    let key = try readString(f.file, keyNode, f.path("key"))
    guard !key.isEmpty, key.utf8.count <= 128, key.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 61 }) else {
        throw f.error(keyNode, "key", "must be 1 to 128 printable ASCII characters other than '='")
    }
    let volumeNode = try f.required("volumeName")
    let volume = try readString(f.file, volumeNode, f.path("volumeName"))
    guard let mount = try mountPath(c, volume) else {
        throw f.error(volumeNode, "volumeName", volumeNode.shown + " is not the name of one of the container's volumeMounts")
    }
    let base = Array(mount.utf8).last == 47 ? mount : mount + "/"
    return EnvFileRef(path: base + path, root: mount, key: key, optional: try f.bool("optional") ?? false)
}
