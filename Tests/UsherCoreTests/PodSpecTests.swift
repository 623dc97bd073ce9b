import Glibc
import Testing
@testable import UsherCore

private func decode(_ text: String) throws(UsageError) -> Plan {
    try decodeConfig(Array(text.utf8), file: "pod.yaml")
}

/// The message of the error decoding `text` gives, nil when it decodes.
private func failure(_ text: String) -> String? {
    do {
        _ = try decode(text)
        return nil
    } catch {
        return error.message
    }
}

/// A one-container pod spec with `extra` lines added to the container (indented to match).
/// A bare PodSpec with one container "app" and `extra` under it; `os.name: linux` (last, so
/// line numbers stay put), which a container's stopSignal requires.
private func container(_ extra: String) -> String {
    "containers:\n  - name: app\n    command: [app]\n" + extra + "os: {name: linux}\n"
}


/// The same pod in every form usher takes.
private let podSpecBody = """
    terminationGracePeriodSeconds: 45
    initContainers:
      - name: migrate
        command: [migrate, --up]
      - name: proxy
        restartPolicy: Always
        command: [proxy]
        startupProbe:
          tcpSocket: {port: 15000}
    containers:
      - name: web
        image: example/web:1.0
        command: [web]
        args: [--port, "8080"]
    """

private func indented(_ text: String, by spaces: Int) -> String {
    let pad = String(repeating: " ", count: spaces)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
}

@Suite struct PodSpecForms {
    var expected: Plan {
        var proxy = Plan.Container(name: "proxy", argv: ["proxy"], role: .sidecar)
        var url = HTTPURL("http://127.0.0.1:15000/")!
        url.podAddress = true  // no host: the container's own address, as the kubelet uses the pod's IP
        proxy.startupProbe = Plan.Probe(check: .tcp(url))
        return Plan(containers: [
            Plan.Container(name: "migrate", argv: ["migrate", "--up"], role: .initStep),
            proxy,
            Plan.Container(name: "web", argv: ["web", "--port", "8080"], role: .main),
        ], grace: 45 * second)
    }

    @Test func barePodSpec() throws {
        #expect(try decode(podSpecBody) == expected)
    }

    @Test func pod() throws {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: {a: b}\nspec:\n" + indented(podSpecBody, by: 2) + "\nstatus: {}\n"
        #expect(try decode(text) == expected)
    }

    @Test(arguments: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"])
    func workload(kind: String) throws {
        func text(policy: String) -> String { """
            apiVersion: apps/v1
            kind: \(kind)
            metadata: {name: web}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              strategy: {type: RollingUpdate}
              backoffLimit: 4
              template:
                metadata: {labels: {app: web}}
                spec:

            """ + indented(podSpecBody + (same(kind, "Job") ? "\nrestartPolicy: " + policy : ""), by: 6) }
        var plan = expected
        if same(kind, "Job") { plan.restartPolicy = .never }
        #expect(try decode(text(policy: "Never")) == plan)
        if same(kind, "Job") {
            #expect(failure(text(policy: "Always"))?.contains("a Job's pods take OnFailure or Never, not Always") == true)
        }
    }

    @Test func cronJob() throws {
        let text = """
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                metadata: {}
                spec:
                  backoffLimit: 2
                  template:
                    spec:

            """ + indented(podSpecBody + "\nrestartPolicy: OnFailure", by: 10)
        var plan = expected
        plan.restartPolicy = .onFailure
        #expect(try decode(text) == plan)
    }

    @Test func json() throws {
        let text = """
            {"kind": "Pod", "spec": {"terminationGracePeriodSeconds": 45,
              "initContainers": [{"name": "migrate", "command": ["migrate", "--up"]},
                {"name": "proxy", "restartPolicy": "Always", "command": ["proxy"],
                 "startupProbe": {"tcpSocket": {"port": 15000}}}],
              "containers": [{"name": "web", "command": ["web"], "args": ["--port", "8080"]}]}}
            """
        #expect(try decode(text) == expected)
    }

    @Test func otherDocumentsAreSkipped() throws {
        let text = "apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n---\n---\nkind: Pod\nspec:\n"
            + indented(podSpecBody, by: 2) + "\n---\nkind: ConfigMap\ndata: {a: b}\n"
        #expect(try decode(text) == expected)
    }

    @Test func documentErrors() {
        #expect(failure("") == "pod.yaml:1:1: the file is empty (expected a Pod, a Deployment or other workload, or a bare PodSpec)")
        #expect(failure("---\n# nothing\n---\n") == failure(""))
        #expect(failure("kind: Service\nspec: {}\n")
            == "pod.yaml:1:7: kind Service has no pod template (use a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, or a bare PodSpec)")
        #expect(failure("kind: Service\n---\nkind: ConfigMap\n")
            == "pod.yaml:1:7: no document in the file has a pod template: Service (line 1), ConfigMap (line 3) (use a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, or a bare PodSpec)")
        #expect(failure("kind: Pod\nspec: {containers: [{name: a, command: [a]}]}\n---\nkind: Deployment\nspec: {}\n")
            == "pod.yaml:4:1: the file has 2 documents with a pod: Pod (line 1), Deployment (line 4); usher runs one pod, so keep one of them")
        #expect(failure("- a\n") == "pod.yaml:1:1: the document: expected a mapping (a Pod, a workload or a PodSpec), got a list")
        #expect(failure("kind: 3\n") == "pod.yaml:1:7: kind: expected a string, got the number 3 (quote it: \"3\")")
        #expect(failure("kind: Pod\nmetadata: {}\n") == "pod.yaml:1:1: spec is required")
        #expect(failure("kind: Pod\nspce: {}\n") == "pod.yaml:2:1: unknown field \"spce\" in the Pod (did you mean \"spec\"?)")
        #expect(failure("kind: Deployment\nspec:\n  replicas: 1\n") == "pod.yaml:3:3: spec.template is required")
        #expect(failure("kind: Deployment\nspec:\n  template:\n    metadata: {}\n    spek: {}\n")
            == "pod.yaml:5:5: unknown field \"spek\" in spec.template (did you mean \"spec\"?)")
        // Paths are the document's own.
        #expect(failure("kind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: a}]\n")
            == "pod.yaml:6:20: spec.template.spec.containers[0].command is required: usher has no image ENTRYPOINT to fall back on")
    }
}

@Suite struct PodSpecFields {
    @Test func defaultsOfAMinimalFile() throws {
        let plan = try decode(container(""))
        #expect(plan == Plan(containers: [Plan.Container(name: "app", argv: ["app"], role: .main)], grace: Plan.defaultGrace))
    }

    @Test func everythingAContainerCanSay() throws {
        let plan = try decode(container("""
                args: ["$(GREETING)", "$$(GREETING)", "$(UNSET)", "$(", "a$b"]
                workingDir: /srv
                env:
                  - {name: NAME, value: world}
                  - name: GREETING
                    value: hello $(NAME)
                  - {name: EMPTY}
                securityContext: {runAsUser: 1000, runAsGroup: 2000, capabilities: {drop: [ALL]}}
                lifecycle:
                  stopSignal: SIGQUIT
                  preStop: {sleep: {seconds: 5}}
                ports: [{name: http, containerPort: 8080, protocol: TCP}]
                readinessProbe:
                  httpGet: {path: healthz, port: http, httpHeaders: [{name: X-Probe, value: "1"}]}
                  periodSeconds: 2
                  successThreshold: 2
                livenessProbe:
                  exec: {command: [check, $(NAME)]}
                  initialDelaySeconds: 3
                  timeoutSeconds: 4
                  failureThreshold: 5
                  terminationGracePeriodSeconds: 9
                resources: {limits: {cpu: "1"}}
                volumeMounts: [{name: data, mountPath: /data}]
                tty: true

            """))
        var app = Plan.Container(name: "app", argv: ["app", "hello world", "$(GREETING)", "$(UNSET)", "$(", "a$b"], role: .main)
        app.env = ["NAME=world", "GREETING=hello world", "EMPTY="]
        app.writtenArgv = ["app", "$(GREETING)", "$$(GREETING)", "$(UNSET)", "$(", "a$b"]  // what check shows
        app.workingDir = "/srv"
        app.user = 1000
        app.group = 2000
        app.stopSignal = 3
        app.preStop = .sleep(5 * second)
        guard var url = HTTPURL("http://127.0.0.1:8080/healthz") else {
            Issue.record("bad URL")
            return
        }
        url.podAddress = true
        var readiness = Plan.Probe(check: .http(url, headers: [Plan.Header(name: "X-Probe", value: "1")]))
        readiness.period = 2 * second
        readiness.successThreshold = 2
        app.readinessProbe = readiness
        var liveness = Plan.Probe(check: .exec(["check", "world"]))  // expanded as the kubelet does
        liveness.writtenCommand = ["check", "$(NAME)"]  // what messages show
        liveness.initialDelay = 3 * second
        liveness.timeout = 4 * second
        liveness.failureThreshold = 5
        liveness.terminationGrace = 9 * second  // the probe's own, for the restart it causes
        app.livenessProbe = liveness
        #expect(plan.containers == [app])
    }

    @Test func probeDefaults() throws {
        let plan = try decode(container("    startupProbe:\n      httpGet: {port: 80, host: localhost}\n"))
        let probe = plan.containers[0].startupProbe
        #expect(probe?.initialDelay == 0)
        #expect(probe?.period == 10 * second)
        #expect(probe?.timeout == 1 * second)
        #expect(probe?.successThreshold == 1)
        #expect(probe?.failureThreshold == 3)
        guard case .http(let url, let headers)? = probe?.check else {
            Issue.record("not an HTTP probe")
            return
        }
        #expect(url.path == "/" && url.port == 80 && url.address == 0x0100007F && headers.isEmpty)
    }

    /// An exec probe's command is expanded as the kubelet's prober expands it (prober.go runProbe,
    /// ExpandContainerCommandOnlyStatic): against the env entries as written (GREETING's own
    /// reference stays), the last definition of a name winning, a valueFrom entry as empty, an
    /// unknown name and `$$` as for command and args; a hook's is not.
    @Test func execProbesAreExpandedAgainstTheStaticEnv() throws {
        let plan = try decode(container("""
                volumeMounts: [{name: config, mountPath: /etc/config}]
                env:
                  - {name: NAME, value: first}
                  - {name: NAME, value: world}
                  - {name: GREETING, value: hello $(NAME)}
                  - name: SECRET
                    valueFrom: {fileKeyRef: {volumeName: config, path: app.env, key: SECRET}}
                startupProbe:
                  exec: {command: [test, $(NAME), $(GREETING), "[$(SECRET)]", $(UNSET), $$(NAME)]}
                readinessProbe:
                  exec: {command: [ready]}
                lifecycle: {postStart: {exec: {command: [hook, $(NAME)]}}}

            """))
        let p = plan.containers[0]
        #expect(p.startupProbe?.check == .exec(["test", "world", "hello $(NAME)", "[]", "$(UNSET)", "$(NAME)"]))
        #expect(p.startupProbe?.writtenCommand == ["test", "$(NAME)", "$(GREETING)", "[$(SECRET)]", "$(UNSET)", "$$(NAME)"])
        #expect(p.readinessProbe?.check == .exec(["ready"]) && p.readinessProbe?.writtenCommand == nil, "nothing to expand")
        #expect(p.postStart == .exec(["hook", "$(NAME)"]), "hooks are not expanded")
        let text = planText(plan)
        #expect(text.contains("startup probe: exec test '$(NAME)' '$(GREETING)' '[$(SECRET)]'"), "check shows the command as written:\n\(text)")
        #expect(!text.contains("world"), "no expanded value in check's text:\n\(text)")
    }

    @Test func preStopExecAndZeroSleep() throws {
        let exec = try decode(container("    lifecycle: {preStop: {exec: {command: [drain, $(X)]}}}\n"))
        #expect(exec.containers[0].preStop == .exec(["drain", "$(X)"]))
        let zero = try decode(container("    lifecycle: {preStop: {sleep: {seconds: 0}}}\n"))
        #expect(zero.containers[0].preStop == nil)
    }

    @Test func podSecurityContextIsTheDefault() throws {
        let plan = try decode("""
            securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, runAsNonRoot: true}
            initContainers:
              - {name: init, command: [i], securityContext: {runAsUser: 5}}
            containers:
              - {name: app, command: [a]}
              - {name: other, command: [b], securityContext: {runAsGroup: 0, allowPrivilegeEscalation: false}}
            """)
        #expect(plan.containers.map(\.user) == [5, 1000, 1000])
        #expect(plan.containers.map(\.group) == [3000, 3000, 0])
        #expect(plan.containers.map(\.noNewPrivileges) == [false, false, true], "allowPrivilegeEscalation: false")
    }

    @Test func allowPrivilegeEscalationIsAContainerField() {
        #expect(throws: UsageError.self) { try decode("securityContext: {allowPrivilegeEscalation: false}\n" + container("")) }
    }

    @Test func nullMeansAbsent() throws {
        let plan = try decode("initContainers: ~\ncontainers:\n  - name: app\n    command: [app]\n    args:\n    env: null\n    lifecycle:\n")
        #expect(plan.containers == [Plan.Container(name: "app", argv: ["app"], role: .main)])
    }

    @Test func ignoredFieldsAreNotTypeChecked() throws {
        let text = "volumes: 3\nnodeSelector: [x]\ntolerations: {a: b}\n" + container("    image: [1]\n    ports: 7\n")
        #expect(try decode(text).containers.count == 1)
    }

    @Test func anchorsReuseParts() throws {
        let plan = try decode("""
            containers:
              - name: a
                command: &cmd [serve, --quiet]
                env: &env [{name: A, value: "1"}]
              - name: b
                command: *cmd
                env: *env
            """)
        #expect(plan.containers[1].argv == ["serve", "--quiet"])
        #expect(plan.containers[1].env == ["A=1"])
    }
}

@Suite struct PodSpecErrors {
    @Test func unknownFields() {
        #expect(failure("containers:\n  - name: app\n    comand: [app]\n")
            == "pod.yaml:3:5: unknown field \"comand\" in containers[0] (did you mean \"command\"?)")
        #expect(failure(container("    frobnicate: 1\n")) == "pod.yaml:4:5: unknown field \"frobnicate\" in containers[0]")
        #expect(failure("contaners: []\n") == "pod.yaml:1:1: unknown field \"contaners\" in the pod spec (did you mean \"containers\"?)")
        #expect(failure(container("    lifecycle: {preStop: {sleep: {second: 1}}}\n"))
            == "pod.yaml:4:35: unknown field \"second\" in containers[0].lifecycle.preStop.sleep (did you mean \"seconds\"?)")
        #expect(failure(container("    securityContext: {runAsUsr: 1}\n"))
            == "pod.yaml:4:23: unknown field \"runAsUsr\" in containers[0].securityContext (did you mean \"runAsUser\"?)")
        #expect(failure(container("    env: [{name: A, vaule: b}]\n"))
            == "pod.yaml:4:21: unknown field \"vaule\" in containers[0].env[0] (did you mean \"value\"?)")
        #expect(failure(container("    readinessProbe: {exec: {command: [x]}, periodSecond: 1}\n"))
            == "pod.yaml:4:44: unknown field \"periodSecond\" in containers[0].readinessProbe (did you mean \"periodSeconds\"?)")
        #expect(failure(container("    ? [a]\n    : 1\n")) == "pod.yaml:4:7: containers[0]: expected a field name, got a list")
    }

    @Test func wrongTypes() {
        #expect(failure(container("    args: {a: b}\n")) == "pod.yaml:4:11: containers[0].args: expected a list of strings, got a mapping")
        #expect(failure(container("    args: [--port, 8080]\n"))
            == "pod.yaml:4:20: containers[0].args[1]: expected a string, got the number 8080 (quote it: \"8080\")")
        #expect(failure(container("    env: [{name: DEBUG, value: yes}]\n"))
            == "pod.yaml:4:32: containers[0].env[0].value: expected a string, got a boolean (quote it)", "no env value is shown")
        #expect(failure(container("    env: [{name: PORT, value: 8080}]\n"))
            == "pod.yaml:4:31: containers[0].env[0].value: expected a string, got a number (quote it)")
        #expect(failure("terminationGracePeriodSeconds: \"30\"\n" + container(""))
            == "pod.yaml:1:32: terminationGracePeriodSeconds: expected an integer, got the string \"30\"")
        #expect(failure("terminationGracePeriodSeconds: 1.5\n" + container(""))
            == "pod.yaml:1:32: terminationGracePeriodSeconds: expected an integer, got the number 1.5")
        #expect(failure("containers: {name: app}\n") == "pod.yaml:1:13: containers: expected a list of containers, got a mapping")
        #expect(failure("containers: [app]\n") == "pod.yaml:1:14: containers[0]: expected a mapping, got the string \"app\"")
        #expect(failure("containers:\n  - name: app\n    command: [app, ~]\n")
            == "pod.yaml:3:20: containers[0].command[1]: expected a string, got null")
        #expect(failure(container("    securityContext: {runAsNonRoot: 1}\n"))
            == "pod.yaml:4:37: containers[0].securityContext.runAsNonRoot: expected true or false, got the number 1")
        #expect(failure(container("    readinessProbe: {tcpSocket: {port: [80]}}\n"))
            == "pod.yaml:4:40: containers[0].readinessProbe.tcpSocket.port: expected a port number or name, got a list")
    }

    @Test func badValues() {
        #expect(failure("terminationGracePeriodSeconds: -1\n" + container(""))
            == "pod.yaml:1:32: terminationGracePeriodSeconds: must be at least 0, got -1")
        #expect(failure("terminationGracePeriodSeconds: 99999999999999999999\n" + container(""))
            == "pod.yaml:1:32: terminationGracePeriodSeconds: must be at most 9223372036, got 99999999999999999999")
        #expect(failure("containers:\n  - name: App\n    command: [a]\n")
            == "pod.yaml:2:11: containers[0].name: \"App\" is not a valid name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)")
        #expect(failure(container("    securityContext: {runAsUser: 4294967295}\n"))
            == "pod.yaml:4:34: containers[0].securityContext.runAsUser: must be at most 4294967294, got 4294967295")
        #expect(failure(container("    lifecycle: {stopSignal: SIGFOO}\n"))
            == "pod.yaml:4:29: containers[0].lifecycle.stopSignal: unknown signal \"SIGFOO\" (Kubernetes takes names such as SIGTERM, SIGINT, SIGQUIT or SIGRTMIN+1)")
        #expect(failure(container("    lifecycle: {stopSignal: SIGKILL}\n"))
            == "pod.yaml:4:29: containers[0].lifecycle.stopSignal: SIGKILL cannot be caught, so it cannot ask for a graceful stop (use a signal such as SIGTERM)")
        #expect(failure(container("    lifecycle: {preStop: {sleep: {seconds: 31}}}\n"))
            == "pod.yaml:4:44: containers[0].lifecycle.preStop.sleep.seconds: a preStop sleep of 31s is longer than the grace period of 30s (the default: set terminationGracePeriodSeconds), which it counts against")
        #expect(failure(container("    readinessProbe: {exec: {command: [x]}, periodSeconds: 0}\n"))
            == "pod.yaml:4:59: containers[0].readinessProbe.periodSeconds: must be at least 1, got 0")
        #expect(failure(container("    livenessProbe: {exec: {command: [x]}, successThreshold: 2}\n"))
            == "pod.yaml:4:61: containers[0].livenessProbe.successThreshold: must be 1 for a liveness probe")
        #expect(failure(container("    startupProbe: {tcpSocket: {port: 70000}}\n"))
            == "pod.yaml:4:38: containers[0].startupProbe.tcpSocket.port: must be at most 65535, got 70000")
        #expect(failure(container("    startupProbe: {tcpSocket: {port: 80, host: db.local}}\n"))
            == "pod.yaml:4:48: containers[0].startupProbe.tcpSocket.host: \"db.local\" is not an IPv4 address or localhost (usher's static binary resolves no host names)")
        #expect(failure(container("    startupProbe: {httpGet: {port: 80, host: 10.0.0.1/x}}\n"))
            == "pod.yaml:4:46: containers[0].startupProbe.httpGet.host: \"10.0.0.1/x\" is not an IPv4 address or localhost (usher's static binary resolves no host names)")
        #expect(failure(container("    startupProbe: {httpGet: {port: 80, path: \"/a b\"}}\n"))
            == "pod.yaml:4:46: containers[0].startupProbe.httpGet.path: \"/a b\" must not contain spaces or control characters")
        #expect(failure(container("    startupProbe: {httpGet: {port: http}}\n"))
            == "pod.yaml:4:36: containers[0].startupProbe.httpGet.port: no port named \"http\" in containers[0].ports")
        #expect(failure(container("    startupProbe: {httpGet: {port: 80, scheme: FTP}}\n"))
            == "pod.yaml:4:48: containers[0].startupProbe.httpGet.scheme: \"FTP\" is not a scheme (use HTTP)")
        #expect(failure(container("    env: [{name: \"A=B\"}]\n"))
            == "pod.yaml:4:18: containers[0].env[0].name: \"A=...\" (the value goes under value) is not a valid variable name (printable ASCII characters other than '=')")
        #expect(failure(container("    workingDir: \"/a\\0b\"\n"))
            == "pod.yaml:4:17: containers[0].workingDir: must not contain a NUL character")
        #expect(failure("containers:\n  - name: app\n    command: []\n") == "pod.yaml:3:14: containers[0].command: must name a program")
        #expect(failure("containers: []\n") == "pod.yaml:1:1: containers: must list at least one container")
    }

    @Test func missingFields() {
        #expect(failure("containers:\n  - name: app\n    image: x\n")
            == "pod.yaml:2:5: containers[0].command is required: usher has no image ENTRYPOINT to fall back on")
        #expect(failure("containers:\n  - command: [a]\n") == "pod.yaml:2:5: containers[0].name is required")
        #expect(failure("volumes: []\n") == "pod.yaml:1:1: containers is required")
        #expect(failure(container("    env: [{value: x}]\n")) == "pod.yaml:4:11: containers[0].env[0].name is required")
        #expect(failure(container("    startupProbe: {periodSeconds: 1}\n"))
            == "pod.yaml:4:19: containers[0].startupProbe: needs a handler (exec, httpGet or tcpSocket)")
        #expect(failure(container("    startupProbe: {exec: {}}\n")) == "pod.yaml:4:26: containers[0].startupProbe.exec.command is required")
        #expect(failure(container("    lifecycle: {preStop: {}}\n")) == "pod.yaml:4:26: containers[0].lifecycle.preStop: needs a handler (exec, httpGet or sleep)")
    }

    @Test func duplicates() {
        #expect(failure("containers:\n  - name: app\n    command: [a]\n    name: again\n")
            == "pod.yaml:4:5: duplicate field \"name\" in containers[0] (first at line 2)")
        #expect(failure("initContainers:\n  - {name: app, command: [a]}\n" + container(""))
            == "pod.yaml:4:11: containers[0].name: \"app\" is already the name of initContainers[0] (line 2)")
        #expect(failure(container("  - name: app\n    command: [b]\n"))
            == "pod.yaml:4:11: containers[1].name: \"app\" is already the name of containers[0] (line 2)")
    }

    @Test func unsupported() {
        #expect(failure(container("    env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"))
            == "pod.yaml:4:21: containers[0].env[0].valueFrom: usher cannot read ConfigMaps, Secrets or the downward API (set the variable with value, or read it from a file with fileKeyRef)")
        #expect(failure(container("    envFrom: [{configMapRef: {name: c}}]\n"))
            == "pod.yaml:4:5: containers[0].envFrom: not supported: usher cannot read ConfigMaps or Secrets (list the variables under env, each with a value)")
        #expect(failure(container("    lifecycle: {preStop: {tcpSocket: {port: 80}}}\n"))?.contains(
            "containers[0].lifecycle.preStop.tcpSocket: is not a lifecycle handler the kubelet runs") == true)
        #expect(failure(container("    lifecycle: {postStart: {httpGet: {port: 80, scheme: HTTPS}}}\n"))?.contains("HTTPS is not supported") == true)
        #expect(failure(container("    lifecycle: {preStop: {exec: {command: [a]}, sleep: {seconds: 1}}}\n"))
            == "pod.yaml:4:49: containers[0].lifecycle.preStop: has both exec and sleep (give exactly one handler)")
        #expect(failure(container("    livenessProbe: {grpc: {port: 9000}}\n"))
            == "pod.yaml:4:21: containers[0].livenessProbe.grpc: gRPC probes are not supported by usher (use exec, httpGet or tcpSocket)")
        #expect(failure(container("    readinessProbe: {httpGet: {port: 443, scheme: HTTPS}}\n"))
            == "pod.yaml:4:51: containers[0].readinessProbe.httpGet.scheme: HTTPS is not supported by usher (its probes speak plain HTTP)")
    }

    @Test func rolesAndRestartPolicy() {
        #expect(failure("initContainers:\n  - {name: i, command: [i], restartPolicy: Sometimes}\n" + container(""))
            == "pod.yaml:2:44: initContainers[0].restartPolicy: \"Sometimes\" is not a restart policy (use Always, OnFailure or Never)")
        #expect(failure(container("    restartPolicy: Sometimes\n"))
            == "pod.yaml:4:20: containers[0].restartPolicy: \"Sometimes\" is not a restart policy (use Always, OnFailure or Never)")
        #expect(failure("initContainers:\n  - name: i\n    command: [i]\n    lifecycle: {preStop: {sleep: {seconds: 1}}}\n" + container(""))
            == "pod.yaml:4:5: initContainers[0].lifecycle: may not be set for an init container without restartPolicy: Always")
        #expect(failure("initContainers:\n  - name: i\n    command: [i]\n    readinessProbe: {exec: {command: [x]}}\n" + container(""))
            == "pod.yaml:4:5: initContainers[0].readinessProbe: may not be set for an init container without restartPolicy: Always")
    }

    @Test func runAsNonRoot() {
        #expect(failure(container("    securityContext: {runAsNonRoot: true}\n"))
            == "pod.yaml:4:37: containers[0]: runAsNonRoot is true but runAsUser is not set and usher has no image USER to check (set securityContext.runAsUser to a non-zero user id)")
        #expect(failure("securityContext: {runAsNonRoot: true, runAsUser: 0}\n" + container(""))
            == "pod.yaml:1:33: containers[0]: runAsNonRoot is true but runAsUser is 0 (set securityContext.runAsUser to a non-zero user id)")
        #expect(failure("securityContext: {runAsNonRoot: true}\n" + container("    securityContext: {runAsUser: 7}\n")) == nil)
        #expect(failure("securityContext: {runAsNonRoot: true, runAsUser: 0}\n" + container("    securityContext: {runAsNonRoot: false}\n")) == nil)
    }

    @Test func syntaxErrorsCarryTheFileName() {
        #expect(failure("containers:\n  - name: app\n   command: [a]\n")
            == "pod.yaml:3:4: YAML syntax error: did not find expected '-' indicator (while parsing a block collection)")
    }
}

@Suite struct VariableExpansion {
    @Test(arguments: [
        ("$(A)", "1"), ("x$(A)y$(B)z", "x1y2z"), ("$$(A)", "$(A)"), ("$$", "$"), ("$", "$"),
        ("a$", "a$"), ("$(C)", "$(C)"), ("$(A", "$(A"), ("$()", "$()"), ("$x$(A)", "$x1"),
        ("$(A)$(A)", "11"), ("$$$(A)", "$1"), ("é$(A)", "é1"), ("$(DUP)", "new"),
    ] as [(String, String)])
    func expands(text: String, expected: String) {
        var variables = Variables()
        for (name, value) in [("A", "1"), ("B", "2"), ("DUP", "old"), ("DUP", "new"), ("AB", "x")] {
            variables.define(Array(name.utf8), Array(value.utf8))
        }
        #expect(expandReferences(text, variables, limit: 100) == expected)
    }

    @Test func stopsAtTheLimit() {
        var variables = Variables()
        variables.define(Array("A".utf8), Array("12345".utf8))
        #expect(expandReferences("$(A)$(A)", variables, limit: 10) == "1234512345")
        #expect(expandReferences("$(A)$(A)x", variables, limit: 10) == nil)
        #expect(expandReferences("$(A)$(A)$(B)", variables, limit: 10) == nil, "an undefined reference stays, and counts")
        #expect(expandReferences("no references at all", variables, limit: 10) == nil)
        #expect(expandReferences("$$$$", variables, limit: 2) == "$$")
    }
}

/// Mutated copies of a valid file must each decode or fail with a UsageError: never crash or
/// hang. (A crash would take the test process down.)
@Suite struct PodSpecRobustness {
    let valid = """
        apiVersion: apps/v1
        kind: Deployment
        spec:
          template:
            spec:
              terminationGracePeriodSeconds: 20
              securityContext: {runAsUser: 1000}
              initContainers:
                - name: proxy
                  restartPolicy: Always
                  command: [proxy, "--port=15000"]
                  startupProbe: {tcpSocket: {port: 15000}, periodSeconds: 1}
              containers:
                - name: web
                  command: &c [web]
                  args: ["$(PORT)"]
                  env: [{name: PORT, value: "8080"}]
                  ports: [{name: http, containerPort: 8080}]
                  readinessProbe:
                    httpGet: {path: /ready, port: http, httpHeaders: [{name: X, value: "y"}]}
                  lifecycle:
                    preStop: {exec: {command: *c}}
                    stopSignal: SIGINT
              os: {name: linux}
        """

    @Test func truncations() throws {
        let bytes = Array(valid.utf8)
        _ = try decodeConfig(bytes, file: "f")
        var decoded = 0
        for n in 0..<bytes.count {
            if (try? decodeConfig(Array(bytes[..<n]), file: "f")) != nil { decoded += 1 }
        }
        #expect(decoded > 0)
    }

    @Test func byteFlips() {
        let bytes = Array(valid.utf8)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {  // xorshift64*: fixed seed, same mutations every run
            seed ^= seed >> 12
            seed ^= seed << 25
            seed ^= seed >> 27
            return seed &* 0x2545_F491_4F6C_DD1D
        }
        let interesting: [UInt8] = [0, 9, 10, 13, 32, 34, 35, 36, 38, 39, 42, 44, 45, 58, 63, 91, 93, 123, 124, 125, 0x80, 0xC3, 0xFF]
        for _ in 0..<3000 {
            var mutated = bytes
            for _ in 0..<Int(next() % 3 + 1) {
                let at = Int(next() % UInt64(mutated.count))
                let r = next()
                mutated[at] = r % 2 == 0 ? interesting[Int(r / 2 % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: r >> 8)
            }
            do {
                _ = try decodeConfig(mutated, file: "f")
            } catch {
                #expect(error.message.hasPrefix("f:"))
            }
        }
    }
}

/// No env value reaches any output. A config error about an env value (or anything under `env`)
/// says what is wrong and where, never what the value is; nor does an error about a node an alias
/// repeats, which may be an env value elsewhere in the file.
@Suite struct EnvValuesStaySecret {
    /// Each file's error, which must not contain `secret`, and must still point at the place.
    @Test(arguments: [
        ("    env: [{name: PORT, value: 31337}]\n", "31337",
         "pod.yaml:4:31: containers[0].env[0].value: expected a string, got a number (quote it)"),
        ("    env: [{name: DEBUG, value: Yes}]\n", "Yes",
         "pod.yaml:4:32: containers[0].env[0].value: expected a string, got a boolean (quote it)"),
        ("    env: [{name: RATIO, value: 2.71828}]\n", "2.71828",
         "pod.yaml:4:32: containers[0].env[0].value: expected a string, got a number (quote it)"),
        ("    env: [{name: KEY, value: 0x5EC2E7}]\n", "5EC2E7",
         "pod.yaml:4:30: containers[0].env[0].value: expected a string, got a number (quote it)"),
        ("    env: [TOKEN=s3cr3t]\n", "s3cr3t",
         "pod.yaml:4:11: containers[0].env[0]: expected a mapping, got a string"),
        ("    env: TOKEN=s3cr3t\n", "s3cr3t",
         "pod.yaml:4:10: containers[0].env: expected a list of variables (name and value), got a string"),
        ("    env: [{name: \"TOKEN=s3cr3t\"}]\n", "s3cr3t",
         "pod.yaml:4:18: containers[0].env[0].name: \"TOKEN=...\" (the value goes under value) is not a valid variable name (printable ASCII characters other than '=')"),
        ("    env: [{name: TOKEN, value: [s3cr3t]}]\n", "s3cr3t",
         "pod.yaml:4:32: containers[0].env[0].value: expected a string, got a list"),
    ] as [(String, String, String)])
    func typeErrorsUnderEnvShowNoValue(extra: String, secret: String, expected: String) {
        let message = failure(container(extra))
        #expect(message == expected)
        #expect(message?.contains(secret) == false)
    }

    @Test func anAliasedEnvValueIsNotShownWhereItIsMisused() {
        // The init container is decoded first, though its alias comes after the anchor.
        let reordered = """
            containers:
              - name: app
                command: [app]
                env: [{name: TOKEN, value: &token S3CR3T=x}]
            initContainers:
              - name: init
                command: [init]
                restartPolicy: *token
            """
        let message = failure(reordered)
        #expect(message?.contains("S3CR3T") == false, "\(message ?? "")")
        #expect(message?.hasPrefix("pod.yaml:4:") == true, "\(message ?? "")")
        #expect(message?.contains(": initContainers[0].restartPolicy: (an aliased value) is not a restart policy") == true, "\(message ?? "")")
        let head = "containers:\n  - name: app\n    command: [app]\n    env: [{name: T, value: &token S3CR3T=x}]\n"
        for misuse in ["  - name: b\n    command: [b]\n    lifecycle: {stopSignal: *token}\n",
                       "  - name: *token\n    command: [b]\n",
                       "  - name: b\n    command: [b]\n    securityContext: {runAsUser: *token}\n",
                       "  - name: b\n    command: [b]\n    *token : 1\n",
                       "  - name: b\n    command: [b]\n    livenessProbe: {tcpSocket: {port: 80, host: *token}}\n",
                       "  - name: b\n    command: [b]\n    livenessProbe: {tcpSocket: {port: *token}}\n",
                       "  - name: b\n    command: [b]\n    livenessProbe: {httpGet: {port: 80, scheme: *token}}\n",
                       "kind: *token\n"] {
            let message = failure(head + misuse)
            #expect(message != nil, "\(misuse)")
            #expect(message?.contains("S3CR3T") == false, "\(misuse): \(message ?? "")")
        }
    }
}

/// `$(VAR)` expansion is bounded by what exec can take: an argument or an environment entry at most
/// 128 KiB (Linux's MAX_ARG_STRLEN, its NUL included), a container's argv and env at most 2 MiB
/// (ARG_MAX with the default 8 MiB stack), a whole file's at most 8 MiB. Past a bound is a config
/// error at the place, naming the container and the field, never showing a value.
@Suite struct ExpansionBounds {
    func decodeTimed(_ text: String) -> (message: String?, took: Duration) {
        var message: String?
        let took = ContinuousClock().measure {
            do {
                _ = try decodeConfig(Array(text.utf8), file: "pod.yaml")
            } catch {
                message = (error as? UsageError)?.message
            }
        }
        return (message, took)
    }

    /// The issue's file: 40 variables, each twice the one before (a terabyte at V40).
    @Test func doublingVariablesAreRefusedAtTheFirstTooLong() {
        var text = "containers:\n  - name: app\n    command: [app]\n    env:\n      - {name: V1, value: s3cr3t-0123456789}\n"
        for n in 2...40 { text += "      - {name: V\(n), value: \"$(V\(n - 1))$(V\(n - 1))\"}\n" }
        #expect(text.utf8.count < 2000)
        let (message, took) = decodeTimed(text)
        // V1 is 17 bytes; V14 is 17 * 2^13 = 139,264 bytes, the first past 128 KiB.
        #expect(message == "pod.yaml:18:28: containers[0].env[13].value: the entry V14=... of container app is longer than 128 KiB with its $(VAR) references expanded, more than Linux passes to a program in one argument or environment entry (MAX_ARG_STRLEN)")
        #expect(message?.contains("s3cr3t") == false)
        #expect(took < .seconds(2), "took \(took)")
    }

    @Test func anArgumentTooLongOnceExpanded() {
        let v = String(repeating: "v", count: 50_000)
        let text = "containers:\n  - name: app\n    command: [app]\n    args: [--a, \"$(V)$(V)$(V)\"]\n    env: [{name: V, value: \(v)}]\n"
        #expect(failure(text) == "pod.yaml:4:17: containers[0].args[1]: the argument of container app is longer than 128 KiB with its $(VAR) references expanded, more than Linux passes to a program in one argument or environment entry (MAX_ARG_STRLEN)")
        // Two copies (100,000 bytes) are fine.
        #expect(failure("containers:\n  - name: app\n    command: [app]\n    args: [--a, \"$(V)$(V)\"]\n    env: [{name: V, value: \(v)}]\n") == nil)
    }

    @Test func aWrittenValueTooLongForExecIsRefusedToo() {
        let text = "containers:\n  - name: app\n    command: [app]\n    env: [{name: BIG, value: \(String(repeating: "b", count: 131_068))}]\n"
        #expect(failure(text)?.hasPrefix("pod.yaml:4:30: containers[0].env[0].value: the entry BIG=... of container app is longer than 128 KiB, more than Linux passes") == true)
        // NAME=value plus its NUL is exactly 131,072 bytes: the largest entry exec takes.
        let fits = "containers:\n  - name: app\n    command: [app]\n    env: [{name: BIG, value: \(String(repeating: "b", count: 131_067))}]\n"
        #expect(failure(fits) == nil)
    }

    /// A program that expands to nothing cannot be started: refused before anything starts, as
    /// a written empty program is (the fuzz harness's "runnable plan" requires it too).
    @Test func aProgramThatExpandsToNothing() {
        #expect(failure("containers:\n  - name: app\n    command: [\"$(E)\", x]\n    env: [{name: E, value: \"\"}]\n")
            == "pod.yaml:3:15: containers[0].command[0]: the program of container app is empty with its $(VAR) references expanded")
        #expect(failure("containers:\n  - name: app\n    command: [\"$(E)x\"]\n    env: [{name: E, value: \"\"}]\n") == nil)
    }

    @Test func hookAndProbeCommandsAreHeldToTheSameLimit() {
        let long = String(repeating: "a", count: 131_072)
        #expect(failure(container("    lifecycle: {preStop: {exec: {command: [sh, \(long)]}}}\n"))
            == "pod.yaml:4:48: containers[0].lifecycle.preStop.exec.command[1]: the argument is longer than 128 KiB, more than Linux passes to a program in one argument or environment entry (MAX_ARG_STRLEN)")
        #expect(failure(container("    livenessProbe: {exec: {command: [\(long)]}}\n"))
            == "pod.yaml:4:38: containers[0].livenessProbe.exec.command[0]: the program is longer than 128 KiB, more than Linux passes to a program in one argument or environment entry (MAX_ARG_STRLEN)")
        #expect(failure(container("    livenessProbe: {exec: {command: [\(long.dropFirst())]}}\n")) == nil)
    }

    @Test func aLongVariableNameIsShortenedInTheMessage() {
        let name = String(repeating: "N", count: 131_072)
        let message = failure(container("    env: [{name: \(name), value: x}]\n"))
        #expect(message?.hasPrefix("pod.yaml:4:") == true)
        #expect(message?.contains("the entry " + String(repeating: "N", count: 60) + "...=... of container app is longer than 128 KiB") == true)
    }

    @Test func aContainersArgvAndEnvTogetherPastTwoMiB() {
        let b = String(repeating: "b", count: 120_000)
        var text = "containers:\n  - name: app\n    command: [app]\n    env:\n      - {name: B, value: \(b)}\n"
        for n in 1...17 { text += "      - {name: C\(n), value: \"$(B)\"}\n" }
        // 18 entries of about 120 KB: the 18th (C17) passes 2 MiB (2,097,152 bytes).
        #expect(failure(text) == "pod.yaml:22:28: containers[0].env[17].value: the command, args and env of container app come to more than 2 MiB with their $(VAR) references expanded, more than exec takes (ARG_MAX with the default 8 MiB stack)")
    }

    @Test func theWholeFilePastEightMiB() {
        // One env list near 2 MiB, anchored, and aliased into more containers than 8 MiB holds.
        let b = String(repeating: "b", count: 120_000)
        var list = "[{name: B, value: \(b)}"
        for n in 1...15 { list += ", {name: C\(n), value: \"$(B)\"}" }
        list += "]"
        var text = "containers:\n  - name: c0\n    command: [app]\n    env: &env \(list)\n"
        for n in 1...4 { text += "  - name: c\(n)\n    command: [app]\n    env: *env\n" }
        #expect(failure(text) == "pod.yaml:4:120162: containers[4].env[5].value: the commands, args and env of the file's containers come to more than 8 MiB with their $(VAR) references expanded")
    }

    /// Each reference is looked up without copying every variable: 4,000 variables and an
    /// argument of 16,000 references to the first of them decode in well under a second.
    @Test func manyReferencesToManyVariablesAreCheap() {
        var text = "containers:\n  - name: app\n    command: [app, \""
        text += String(repeating: "$(V0)", count: 16_000) + "\"]\n    env:\n"
        for n in 0..<4000 { text += "      - {name: V\(n), value: \"\"}\n" }
        let (message, took) = decodeTimed(text)
        #expect(message == nil)
        // Under AddressSanitizer (`make sanitize` sets ASAN_OPTIONS) everything runs several
        // times slower, and CI's machine is shared: the bound grows with it.
        let bound: Duration = getenv("ASAN_OPTIONS") == nil ? .seconds(2) : .seconds(8)
        #expect(took < bound, "took \(took)")
    }
}

/// The fields kubelet parity reads (hooks of every kind, the restart policies and rules,
/// stopSignal), with the API server's validation.
@Suite struct KubeletParityFields {
    @Test func hooksOfEveryKind() throws {
        let plan = try decode(container("""
                lifecycle:
                  postStart: {httpGet: {path: warm, port: 8080, httpHeaders: [{name: X-Hook, value: "1"}]}}
                  preStop: {httpGet: {port: 8080, host: 10.0.0.9, path: /drain}}

            """))
        guard case .http(let post, let headers)? = plan.containers[0].postStart,
              case .http(let pre, _)? = plan.containers[0].preStop else {
            Issue.record("expected httpGet hooks: \(plan.containers[0])")
            return
        }
        #expect(post.path == "/warm" && post.port == 8080 && post.podAddress, "no host: the container's own address")
        #expect(headers == [Plan.Header(name: "X-Hook", value: "1")])
        #expect(pre.host == "10.0.0.9" && !pre.podAddress)
        let slept = try decode(container("    lifecycle: {postStart: {sleep: {seconds: 3}}, preStop: {exec: {command: [drain]}}}\n"))
        #expect(slept.containers[0].postStart == .sleep(3 * second) && slept.containers[0].preStop == .exec(["drain"]))
        #expect(failure(container("    lifecycle: {postStart: {sleep: {seconds: 31}}}\n"))?.contains("a postStart sleep of 31s is longer than the grace period") == true)
    }

    @Test func restartPolicies() throws {
        let pod = try decode("restartPolicy: OnFailure\n" + container("    restartPolicy: Never\n    restartPolicyRules:\n      - {action: Restart, exitCodes: {operator: NotIn, values: [0, 1]}}\n"))
        #expect(pod.restartPolicy == .onFailure)
        #expect(pod.containers[0].restartPolicy == .never)
        #expect(pod.containers[0].restartRules == [Plan.RestartRule(exitCodesIn: false, values: [0, 1])])
        #expect(try decode(container("")).restartPolicy == .always, "Always by default")
        #expect(failure("restartPolicy: Sometimes\n" + container(""))?.contains("is not a restart policy") == true)
    }

    @Test func restartRulesAreValidatedAsTheAPIServerDoes() {
        func rules(_ text: String, policy: Bool = true) -> String? {
            failure(container((policy ? "    restartPolicy: Never\n" : "") + "    restartPolicyRules:\n" + text))
        }
        #expect(rules("      - {action: Restart, exitCodes: {operator: In, values: [42]}}\n", policy: false)?
                    .contains("requires the container's own restartPolicy") == true)
        #expect(rules("      - {action: Ignore, exitCodes: {operator: In, values: [42]}}\n")?.contains("the only one is Restart") == true)
        #expect(rules("      - {action: Restart, exitCodes: {operator: Has, values: [42]}}\n")?.contains("use In or NotIn") == true)
        #expect(rules("      - {action: Restart}\n")?.contains("exitCodes: is required") == true)
        let many = String(repeating: "      - {action: Restart, exitCodes: {operator: In, values: [1]}}\n", count: 21)
        #expect(rules(many)?.contains("at most 20") == true)
        let values = (0..<256).map { "\($0)" }.joined(separator: ", ")
        #expect(rules("      - {action: Restart, exitCodes: {operator: In, values: [\(values)]}}\n")?.contains("at most 255") == true)
        #expect(failure("initContainers:\n  - {name: s, command: [s], restartPolicy: Always, restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [1]}}]}\n" + container(""))?
                    .contains("has no effect on a sidecar") == true)
    }

    @Test func aStopSignalNeedsTheLinuxOS() {
        let noOS = "containers:\n  - name: app\n    command: [app]\n    lifecycle: {stopSignal: SIGQUIT}\n"
        #expect(failure(noOS) == "pod.yaml:4:29: containers[0].lifecycle.stopSignal: requires spec.os.name: linux in the pod spec, as Kubernetes does")
        #expect((try? decode(noOS + "os: {name: linux}\n")) != nil)
        #expect(failure("os: {name: windows}\ncontainers: [{name: app, command: [app]}]\n")?.contains("windows pods cannot run under usher") == true)
    }
}
