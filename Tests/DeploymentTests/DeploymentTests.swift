import EmporiumTestSupport
import Foundation
import Testing

/// The container image, the compose cluster and the Kubernetes manifests, checked without an
/// engine (none can run here): linters, the compose parser, and the binary itself for every
/// environment key and role command they use (`deploy/check_deployment.py`).
@Suite("Deployment files")
struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? root.appendingPathComponent(".local").path
    static let binary = root.appendingPathComponent(".build/debug/emporium").path

    /// `deploy/check_deployment.py ARGUMENTS` run from `folder` (the repository or a scratch copy of
    /// its deployment files), its output followed by `exit=<status>`.
    static func checkDeployment(in folder: URL = root, _ arguments: String = "--emporium '\(binary)' --tools '\(state)/venv/bin'") async throws -> String {
        try await ChildProcess.shell(
            "cd '\(folder.path)' && '\(state)/venv/bin/python' deploy/check_deployment.py \(arguments) 2>&1; echo \"exit=$?\"",
            timeout: .seconds(300))
    }

    /// A scratch copy of the deployment files and docs, with `edits` (file, text, replacement)
    /// made; removed by the caller.
    static func scratchCopy(_ edits: [(file: String, text: String, replacement: String)]) throws -> URL {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-check-\(UUID())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for folder in ["deploy", "compose", "docs"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent(folder), to: scratch.appendingPathComponent(folder))
        }
        for edit in edits {
            let file = scratch.appendingPathComponent(edit.file)
            try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: edit.text, with: edit.replacement)
                .write(to: file, atomically: true, encoding: .utf8)
        }
        return scratch
    }

    @Test("hadolint, kubernetes-validate and docker-compose accept them; keys and commands are the binary's")
    func deploymentFiles() async throws {
        let output = try await Self.checkDeployment()
        #expect(output.contains("exit=0") && output.contains("deployment checks passed"), "\(output)")
    }

    @Test("a compose environment key the binary does not read is caught")
    func unknownKeyIsCaught() async throws {
        // A copy of the repository's deployment files with one misspelt key.
        let scratch = try Self.scratchCopy([("compose/docker-compose.yml", "API_PORT:", "API_PROT:")])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = try await Self.checkDeployment(in: scratch)
        #expect(output.contains("exit=1") && output.contains("API_PROT"), "\(output)")
    }

    @Test("the configuration reference's tables (docs/configuration.md) are the declared keys, and a stale one is caught")
    func referenceTablesAreTheDeclaredKeys() async throws {
        let keys = try await ChildProcess.shell("'\(Self.binary)' config keys --names-only", timeout: .seconds(30))
            .split(whereSeparator: \.isNewline).map(String.init)
        #expect(keys.count > 40)
        let reference = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let missing = keys.filter { !reference.contains("| `\($0)`") }
        #expect(missing.isEmpty, "not in docs/configuration.md's tables: \(missing)")
        let check = try await ChildProcess.shell(
            "'\(Self.binary)' config docs --check '\(Self.root.path)/docs/configuration.md' 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(check.contains("exit=0"), "\(check)")

        // A copy with one default edited by hand is refused, and rewritten from the declarations.
        let scratch = try Self.scratchCopy([("docs/configuration.md", "| `POSTGRES_POOL_SIZE` | `10` |", "| `POSTGRES_POOL_SIZE` | `12` |")])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stale = scratch.appendingPathComponent("docs/configuration.md").path
        let refused = try await ChildProcess.shell("'\(Self.binary)' config docs --check '\(stale)' 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(refused.contains("exit=1") && refused.contains("differs from the declared keys"), "\(refused)")
        let rewritten = try await ChildProcess.shell(
            "'\(Self.binary)' config docs '\(stale)' && cmp '\(stale)' '\(Self.root.path)/docs/configuration.md'; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(rewritten.contains("exit=0"), "\(rewritten)")
    }

    @Test("the document's model schemas are the Swift types' shapes (make openapi), and a stale one is caught")
    func openAPIModelsAreTheSwiftTypes() async throws {
        let run = { (folder: URL) in
            try await ChildProcess.shell(
                "cd '\(folder.path)' && '\(Self.state)/venv/bin/python' deploy/openapi_models.py --emporium '\(Self.binary)' --check 2>&1; echo \"exit=$?\"",
                timeout: .seconds(60))
        }
        let current = try await run(Self.root)
        #expect(current.contains("exit=0") && current.contains("model schemas are the Swift types' shapes"), "\(current)")

        // A copy whose Product schema lost a field and calls a required one optional.
        let scratch = try Self.scratchCopy([])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let gateway = scratch.appendingPathComponent("Sources/Gateway")
        try FileManager.default.createDirectory(at: gateway, withIntermediateDirectories: true)
        var document = try String(contentsOf: Self.root.appendingPathComponent("Sources/Gateway/openapi.json"), encoding: .utf8)
        document = document.replacingOccurrences(of: "\"required\": [\n          \"sku\",\n          \"name\",\n          \"description\",", with: "\"required\": [\n          \"sku\",\n          \"name\",")
        try document.write(to: gateway.appendingPathComponent("openapi.json"), atomically: true, encoding: .utf8)
        let stale = try await run(scratch)
        #expect(stale.contains("exit=1") && stale.contains("Product"), "\(stale)")
    }

    @Test("a Kubernetes container that takes the Secret as environment variables is caught")
    func secretAsEnvironmentIsCaught() async throws {
        let scratch = try Self.scratchCopy([(
            "deploy/k8s/relay.yaml", "                name: emporium-config\n",
            "                name: emporium-config\n            - secretRef:\n                name: emporium-secrets\n"
        )])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = try await Self.checkDeployment(in: scratch, "--tools '\(Self.state)/venv/bin' --only k8s")
        #expect(output.contains("exit=1") && output.contains("relay.yaml") && output.contains("takes emporium-secrets as environment variables"), "\(output)")
    }

    @Test("the README is a front page, and every link in it and in docs/ resolves inside the repository")
    func documentationLinks() async throws {
        let output = try await ChildProcess.shell(
            "cd '\(Self.root.path)' && python3 deploy/check_docs.py 2>&1; echo \"exit=$?\"", timeout: .seconds(60))
        #expect(output.contains("exit=0") && output.contains("documentation checks passed"), "\(output)")
    }

    @Test("a topics Job that does not run `emporium topics create`, or a worker that does not wait for the topics, is caught")
    func topicsWiringIsChecked() async throws {
        let scratch = try Self.scratchCopy([
            ("deploy/k8s/topics-job.yaml", #"args: ["topics", "create""#, #"args: ["topics", "list""#),
            ("deploy/k8s/worker-mail.yaml", #"args: ["topics", "check""#, #"args: ["topics", "list""#),
        ])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = try await Self.checkDeployment(in: scratch, "--only topics --emporium '\(Self.binary)'")
        #expect(output.contains("exit=1"), "\(output)")
        #expect(output.contains("expected one Kubernetes Job running `emporium topics create`"), "\(output)")
        #expect(output.contains("worker-mail.yaml Deployment/emporium-worker-mail: no `emporium topics check` init container"), "\(output)")
    }
}
