/// Decodes a Pod-spec file into a Plan. `file` is the name used in error messages.
///
/// The file is YAML (so JSON too) holding a bare PodSpec, a Pod, or a workload with a pod
/// template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). It may hold several
/// documents: those of other kinds (a Service, a ConfigMap) are skipped, and exactly one must
/// have a pod. Fields keep Kubernetes' meaning and defaults; fields that mean nothing inside one
/// container are accepted and ignored; anything else wrong is an error pointing at its line and
/// column. Paths in messages are the document's own (`spec.template.spec.containers[0]` in a
/// Deployment, `containers[0]` in a bare PodSpec).
public func decodeConfig(_ bytes: [UInt8], file: String) throws(UsageError) -> Plan {
    var pods: [YAMLNode] = []
    var others: [YAMLNode] = []  // the `kind` nodes of documents without a pod
    for document in try parseYAML(bytes, file: file) {
        if case .scalar = document.content, document.resolvedScalar == .null { continue }  // `---` alone
        if try podStepsIfPod(document, file: file) != nil {
            pods.append(document)
        } else if let kindNode = kindNode(of: document) {
            others.append(kindNode)
        }
    }
    guard pods.count == 1 else {
        if pods.isEmpty && others.isEmpty {
            throw configError(file, line: 1, column: 1, "the file is empty (expected a Pod, a Deployment or other workload, or a bare PodSpec)")
        }
        if pods.isEmpty && others.count == 1 {
            throw configError(file, line: others[0].line, column: others[0].column,
                              "kind " + scalarText(others[0]) + " has no pod template (" + podKindAdvice + ")")
        }
        var list = ""
        for (i, node) in (pods.isEmpty ? others : pods).enumerated() {
            list += (i == 0 ? "" : ", ") + (pods.isEmpty ? scalarText(node) : kindName(of: node)) + " (line \(node.line))"
        }
        let at = pods.isEmpty ? others[0] : pods[1]
        throw configError(file, line: at.line, column: at.column, pods.isEmpty
            ? "no document in the file has a pod template: " + list + " (" + podKindAdvice + ")"
            : "the file has \(pods.count) documents with a pod: " + list + "; usher runs one pod, so keep one of them")
    }
    return try decodePodSpec(pods[0], file: file)
}

private let podKindAdvice = "use a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, or a bare PodSpec"
private let workloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]

/// The fields from a document down to its pod spec: [] for a bare PodSpec, nil for a kind without
/// a pod. Only `kind` is looked at here; the chosen document is checked in full later.
@inline(never)  // size: frame
private func podStepsIfPod(_ document: YAMLNode, file: String) throws(UsageError) -> [String]? {
    guard case .mapping = document.content else {
        throw typeError(file, document, "the document", expected: "a mapping (a Pod, a workload or a PodSpec)")
    }
    guard let kindNode = kindNode(of: document) else { return [] }
    let kind = try readString(file, kindNode, "kind")
    if same(kind, "Pod") { return ["spec"] }
    if same(kind, "CronJob") { return ["spec", "jobTemplate", "spec", "template", "spec"] }
    if workloadKinds.contains(where: { same($0, kind) }) { return ["spec", "template", "spec"] }
    return nil
}

/// The value of the document's `kind`, nil when it has none (or a null one).
private func kindNode(of document: YAMLNode) -> YAMLNode? {
    guard case .mapping(let pairs) = document.content else { return nil }
    for pair in pairs {
        guard case .scalar(let key, _, _) = pair.key.content, same(key, "kind") else { continue }
        if case .scalar = pair.value.content, pair.value.resolvedScalar == .null { return nil }
        return pair.value
    }
    return nil
}

/// A `kind` as written, for messages; not when an alias repeats it (it may be an env value).
private func scalarText(_ node: YAMLNode) -> String {
    if node.aliased { return "(an aliased value)" }
    if case .scalar(let text, _, _) = node.content { return text }
    return ""
}

@inline(never)  // size: shared
private func kindName(of document: YAMLNode) -> String { kindNode(of: document).map(scalarText) ?? "PodSpec" }

/// PodSpec fields accepted and ignored: they mean nothing inside one container.
private let ignoredPodFields = nameList("""
    volumes nodeSelector nodeName serviceAccountName serviceAccount
    automountServiceAccountToken hostNetwork hostPID hostIPC shareProcessNamespace
    imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases
    priorityClassName priority dnsConfig dnsPolicy readinessGates runtimeClassName
    enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN
    hostUsers schedulingGates resourceClaims resources activeDeadlineSeconds
    ephemeralContainers
    """)

/// The largest grace period in whole seconds whose nanoseconds fit in `Nanos`.
private let maxGraceSeconds = Int64.max / nanosPerSecond

@inline(never)  // size: frame
private func decodePodSpec(_ document: YAMLNode, file: String) throws(UsageError) -> Plan {
    // Down to the pod spec, checking each level on the way. The document's top level takes
    // Kubernetes' object fields; a workload's own spec is open (replicas, selector, strategy,
    // backoffLimit, ... are not usher's business); a template takes only metadata besides.
    let steps = try podStepsIfPod(document, file: file) ?? []
    var node = document
    var path = ""
    for (i, step) in steps.enumerated() {
        let workloadSpec = i > 0 && same(steps[i - 1], "spec")
        let level = try Fields(
            node, file: file, path: path, place: i == 0 ? "the " + kindName(of: document) : nil, used: [step],
            ignored: i == 0 ? ["apiVersion", "kind", "metadata", "status"] : ["metadata"], open: workloadSpec)
        node = try level.required(step)
        path = level.path(step)
    }

    let spec = try Fields(
        node, file: file, path: path, place: path.isEmpty ? "the pod spec" : nil,
        used: ["containers", "initContainers", "terminationGracePeriodSeconds", "securityContext", "restartPolicy", "os"],
        ignored: ignoredPodFields)
    let graceGiven = try spec.integer("terminationGracePeriodSeconds", min: 0, max: maxGraceSeconds)
    let graceSeconds = graceGiven ?? 30
    let graceSource = graceGiven == nil ? "the default: set terminationGracePeriodSeconds" : "terminationGracePeriodSeconds"
    let pod = try decodeIdentity(spec, container: false)
    let isJob = steps.contains { same($0, "jobTemplate") } || same(kindName(of: document), "Job")
    let restartPolicy = try decodePodRestartPolicy(spec, isJob: isJob)
    let osIsLinux = try decodeOS(spec)

    let used = ["name", "command", "args", "env", "envFrom", "workingDir", "securityContext", "lifecycle",
                "startupProbe", "readinessProbe", "livenessProbe", "restartPolicy", "restartPolicyRules", "ports", "volumeMounts"]
    let inits = try spec.mappings("initContainers", of: "containers", used: used, ignored: ignoredContainerFields) ?? []
    guard let mains = try spec.mappings("containers", of: "containers", used: used, ignored: ignoredContainerFields) else {
        throw configError(file, line: node.line, column: node.column, spec.path("containers") + " is required")
    }
    if mains.isEmpty { throw spec.error(spec.node, "containers", "must list at least one container") }

    var plan = Plan(containers: [], grace: graceSeconds * nanosPerSecond)
    plan.restartPolicy = restartPolicy
    // Names are unique across both lists, as Kubernetes requires: the log tells them apart.
    // Compared within buckets of a byte hash, so thousands of containers cost no quadratic time.
    var buckets = [[Int]](repeating: [], count: 256)
    var planBytes = 0
    var nameNodes: [YAMLNode] = []
    let all = inits + mains
    for (i, container) in all.enumerated() {
        let (process, nameNode) = try decodeContainer(container, isInit: i < inits.count, pod: pod, graceSeconds: graceSeconds, graceSource: graceSource,
                                                   osIsLinux: osIsLinux, planBytes: &planBytes)
        let bucket = Int(process.name.utf8.reduce(UInt8(0)) { $0 &* 31 &+ $1 })
        if let other = buckets[bucket].first(where: { same(plan.containers[$0].name, process.name) }) {
            throw container.error(nameNode, "name", nameNode.shown + " is already the name of " + all[other].path + " (line \(nameNodes[other].line))")
        }
        buckets[bucket].append(i)
        nameNodes.append(nameNode)
        plan.containers.append(process)
    }
    return plan
}

/// `restartPolicy` of the pod: Always (the default), OnFailure or Never; a Job's pod template
/// takes only OnFailure or Never, as the API server requires.
@inline(never)  // size: frame
private func decodePodRestartPolicy(_ spec: Fields, isJob: Bool) throws(UsageError) -> Plan.RestartPolicy {
    guard let text = try spec.string("restartPolicy") else {
        if isJob {
            throw spec.error(spec.node, "restartPolicy", "is required in a Job's pod template (OnFailure or Never)")
        }
        return .always
    }
    let node = spec["restartPolicy"] ?? spec.node
    guard let policy = restartPolicyNamed(text) else {
        throw spec.error(node, "restartPolicy", node.shown + " is not a restart policy (use Always, OnFailure or Never)")
    }
    if isJob && policy == .always {
        throw spec.error(node, "restartPolicy", "a Job's pods take OnFailure or Never, not Always")
    }
    return policy
}

func restartPolicyNamed(_ text: String) -> Plan.RestartPolicy? {
    if same(text, "Always") { return .always }
    if same(text, "OnFailure") { return .onFailure }
    if same(text, "Never") { return .never }
    return nil
}

/// `os.name`: linux, or absent. usher runs Linux processes; a Windows pod is an error. Returns
/// whether linux was named (a container's `lifecycle.stopSignal` needs it, as in the API).
@inline(never)  // size: frame
private func decodeOS(_ spec: Fields) throws(UsageError) -> Bool {
    guard let os = try spec.mapping("os", used: ["name"]) else { return false }
    let node = try os.required("name")
    let name = try readString(os.file, node, os.path("name"))
    if same(name, "linux") { return true }
    if same(name, "windows") { throw os.error(node, "name", "windows pods cannot run under usher, a Linux init") }
    throw os.error(node, "name", node.shown + " is not an operating system (use linux)")
}
