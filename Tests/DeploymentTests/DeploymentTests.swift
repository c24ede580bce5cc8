import EmporiumTestSupport
import Foundation
import Testing

/// The container image, the compose cluster and the Kubernetes manifests, checked without an
/// engine (none can run here): linters, the compose parser, and the binary itself for every
/// environment key and role command they use (`deploy/check_deployment.py`).
@Suite("Deployment files")
struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("hadolint, kubernetes-validate and docker-compose accept them; keys and commands are the binary's")
    func deploymentFiles() async throws {
        let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? Self.root.appendingPathComponent(".local").path
        let binary = Self.root.appendingPathComponent(".build/debug/emporium").path
        let output = try await ChildProcess.shell(
            "cd '\(Self.root.path)' && '\(state)/venv/bin/python' deploy/check_deployment.py --emporium '\(binary)' --tools '\(state)/venv/bin' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(300))
        #expect(output.contains("exit=0") && output.contains("deployment checks passed"), "\(output)")
    }

    @Test("a compose environment key the binary does not read is caught")
    func unknownKeyIsCaught() async throws {
        let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? Self.root.appendingPathComponent(".local").path
        let binary = Self.root.appendingPathComponent(".build/debug/emporium").path
        // A copy of the repository's deployment files with one misspelt key.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-check-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for folder in ["deploy", "compose", "docs"] {
            try FileManager.default.createDirectory(at: scratch.appendingPathComponent(folder).deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent(folder), to: scratch.appendingPathComponent(folder))
        }
        let compose = scratch.appendingPathComponent("compose/docker-compose.yml")
        let text = try String(contentsOf: compose, encoding: .utf8)
        try text.replacingOccurrences(of: "API_PORT:", with: "API_PROT:").write(to: compose, atomically: true, encoding: .utf8)
        let output = try await ChildProcess.shell(
            "cd '\(scratch.path)' && '\(state)/venv/bin/python' deploy/check_deployment.py --emporium '\(binary)' --tools '\(state)/venv/bin' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(300))
        #expect(output.contains("exit=1") && output.contains("API_PROT"), "\(output)")
    }

    @Test("the configuration reference (docs/configuration.md) names every key the binary reads")
    func referenceNamesEveryKey() async throws {
        let binary = Self.root.appendingPathComponent(".build/debug/emporium").path
        let keys = try await ChildProcess.shell("'\(binary)' config keys --names-only", timeout: .seconds(30))
            .split(whereSeparator: \.isNewline).map(String.init)
        #expect(keys.count > 40)
        let reference = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let missing = keys.filter { !reference.contains("`\($0)`") }
        #expect(missing.isEmpty, "not in docs/configuration.md: \(missing)")
    }

    @Test("the README is a front page, and every link in it and in docs/ resolves inside the repository")
    func documentationLinks() async throws {
        let output = try await ChildProcess.shell(
            "cd '\(Self.root.path)' && python3 deploy/check_docs.py 2>&1; echo \"exit=$?\"", timeout: .seconds(60))
        #expect(output.contains("exit=0") && output.contains("documentation checks passed"), "\(output)")
    }

    @Test("a topics Job that does not run `emporium topics create`, or a worker that does not wait for the topics, is caught")
    func topicsWiringIsChecked() async throws {
        let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? Self.root.appendingPathComponent(".local").path
        let binary = Self.root.appendingPathComponent(".build/debug/emporium").path
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("topics-check-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for folder in ["deploy", "compose", "docs"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent(folder), to: scratch.appendingPathComponent(folder))
        }
        let job = scratch.appendingPathComponent("deploy/k8s/topics-job.yaml")
        try String(contentsOf: job, encoding: .utf8).replacingOccurrences(of: #"args: ["topics", "create""#, with: #"args: ["topics", "list""#)
            .write(to: job, atomically: true, encoding: .utf8)
        let worker = scratch.appendingPathComponent("deploy/k8s/worker-mail.yaml")
        try String(contentsOf: worker, encoding: .utf8).replacingOccurrences(of: #"args: ["topics", "check""#, with: #"args: ["topics", "list""#)
            .write(to: worker, atomically: true, encoding: .utf8)
        let output = try await ChildProcess.shell(
            "cd '\(scratch.path)' && '\(state)/venv/bin/python' deploy/check_deployment.py --only topics --emporium '\(binary)' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(120))
        #expect(output.contains("exit=1"), "\(output)")
        #expect(output.contains("expected one Kubernetes Job running `emporium topics create`"), "\(output)")
        #expect(output.contains("worker-mail.yaml Deployment/emporium-worker-mail: no `emporium topics check` init container"), "\(output)")
    }
}
