import Testing
@testable import UsherCore

/// Environment from files: the file format, and `fileKeyRef` read through the container's
/// volumeMounts.
@Suite struct EnvFiles {
    func parse(_ text: String) throws(EnvFileProblem) -> [String] {
        try parseEnvFile(Array(text.utf8)).map { $0.key + "=" + $0.value }
    }

    @Test func keyValueLinesCommentsAndQuotes() throws {
        #expect(try parse("# settings\nA=1\n\n  B= x\nC=\"quoted # not a comment\"\nD='single'\nE=\nF=a=b\r\nG=$(H) ${H}\n")
                == ["A=1", "B= x", "C=quoted # not a comment", "D=single", "E=", "F=a=b", "G=$(H) ${H}"])
    }

    @Test func aBadLineNamesItsNumberNotItsValue() {
        #expect(throws: EnvFileProblem("line 2 is not KEY=VALUE")) { try parse("A=1\nsecret-without-equals\n") }
        #expect(throws: EnvFileProblem("line 1: the key is not printable ASCII without blanks, 1 to 128 characters")) {
            try parse("=hunter2\n")
        }
    }

    @Test func refsAreResolvedAtTheirPositionsAndMissingOnesAreNamed() throws {
        let files = ["/etc/app/env": Array("TOKEN=s3cret\nMODE=prod\n".utf8)]
        let read: (EnvFileRef) -> Result<[UInt8], FileProblem> = { ref in
            files[ref.path].map { .success($0) } ?? .failure(FileProblem("not found", missing: true))
        }
        let got = try readEnvFiles([
            EnvFileRef(path: "/etc/app/env", name: "APP_TOKEN", key: "TOKEN", position: 1),
            EnvFileRef(path: "/etc/app/env", position: 0),
            EnvFileRef(path: "/nowhere", name: "X", key: "X", optional: true),
            EnvFileRef(path: "/etc/app/env", name: "Y", key: "NOPE", optional: true),
        ], read: read)
        #expect(got.map { $0.entry } == ["APP_TOKEN=s3cret", "TOKEN=s3cret", "MODE=prod"])
        #expect(got.map { $0.position } == [1, 0, 0])
        #expect(throws: EnvFileProblem("the env file /etc/app/env has no key NOPE")) {
            try readEnvFiles([EnvFileRef(path: "/etc/app/env", name: "Y", key: "NOPE")], read: read)
        }
        #expect(throws: EnvFileProblem("the env file /nowhere cannot be read: not found")) {
            try readEnvFiles([EnvFileRef(path: "/nowhere")], read: read)
        }
        do {
            _ = try readEnvFiles([EnvFileRef(path: "/bad")], read: { _ in .success(Array("KEY\nhunter2=x y\n".utf8)) })
            Issue.record("expected a problem")
        } catch {
            #expect(!error.message.contains("hunter2"), "never a value")
        }
    }

    /// KEP-3721's optional covers a file or key that does not exist, nothing else: an optional
    /// reference to a file that exists but cannot be read (permission, a FIFO, too large) fails
    /// the start and says why, where it used to leave the variable unset without a word.
    @Test func optionalCoversOnlyWhatIsMissingAndEveryFailureSaysWhy() throws {
        let refused: (EnvFileRef) -> Result<[UInt8], FileProblem> = { _ in .failure(FileProblem("permission denied to uid 65534")) }
        #expect(throws: EnvFileProblem("the env file /vol/app.env cannot be read (for its key K): permission denied to uid 65534")) {
            try readEnvFiles([EnvFileRef(path: "/vol/app.env", name: "V", key: "K", optional: true)], read: refused)
        }
        let missing: (EnvFileRef) -> Result<[UInt8], FileProblem> = { _ in .failure(FileProblem("not found", missing: true)) }
        #expect(try readEnvFiles([EnvFileRef(path: "/vol/app.env", name: "V", key: "K", optional: true)], read: missing).isEmpty)
    }

    @Test func fileKeyRefGoesThroughTheVolumeMounts() throws {
        let plan = try decodeConfig(Array("""
            containers:
              - name: app
                command: [app]
                volumeMounts: [{name: config, mountPath: /etc/config, readOnly: true}]
                env:
                  - {name: A, value: "1"}
                  - name: DB_PASSWORD
                    valueFrom: {fileKeyRef: {volumeName: config, path: db/env, key: PASSWORD}}
                  - {name: B, value: "2"}
                  - name: OPT
                    valueFrom: {fileKeyRef: {volumeName: config, path: opt.env, key: OPT, optional: true}}

            """.utf8), file: "pod.yaml")
        #expect(plan.containers[0].env == ["A=1", "B=2"])
        #expect(plan.containers[0].envFiles == [
            EnvFileRef(path: "/etc/config/db/env", root: "/etc/config", name: "DB_PASSWORD", key: "PASSWORD", position: 1),
            EnvFileRef(path: "/etc/config/opt.env", root: "/etc/config", name: "OPT", key: "OPT", optional: true, position: 2),
        ])
    }

    @Test(arguments: [
        ("{volumeName: nope, path: env, key: K}", "\"nope\" is not the name of one of the container's volumeMounts"),
        ("{volumeName: config, path: /abs, key: K}", "must be a relative path within the volume"),
        ("{volumeName: config, path: a/../b, key: K}", "must be a relative path within the volume"),
        ("{volumeName: config, path: env, key: \"A=B\"}", "printable ASCII characters other than '='"),
    ])
    func fileKeyRefIsValidatedAsTheAPIServerDoes(ref: String, message: String) {
        let text = "containers:\n  - name: app\n    command: [app]\n    volumeMounts: [{name: config, mountPath: /c}]\n"
            + "    env: [{name: X, valueFrom: {fileKeyRef: \(ref)}}]\n"
        do {
            _ = try decodeConfig(Array(text.utf8), file: "pod.yaml")
            Issue.record("accepted \(ref)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
