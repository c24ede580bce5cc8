import EmporiumTestSupport
import Foundation
import Logging
import SMTP
import Testing

/// The SMTP wrapper against the project's SMTP catcher (aiosmtpd), started per test on a free
/// port: delivery, authentication, a refused recipient, a server that is not there.
@Suite("SMTP client (libcurl)", .timeLimit(.minutes(2)))
struct SMTPClientTests {
    @Test("a mail arrives with its parts and headers")
    func delivers() async throws {
        try await withCatcher { port, directory in
            let client = try client(port: port)
            try await client.send(SMTPMessage(
                to: "someone@example.com", subject: "Grüße from the tests", text: "plain ✓", html: "<p>html ✓</p>", messageID: "m1@test",
                headers: [("X-Emporium-Template", "test")]))
            let raw = try #require(try receivedMails(in: directory).first)
            #expect(raw.contains("To: someone@example.com"))
            #expect(raw.contains("Subject: =?UTF-8?B?"))
            #expect(raw.contains("Message-ID: <m1@test>"))
            #expect(raw.contains("X-Emporium-Template: test"))
            #expect(raw.contains("multipart/alternative"))
            #expect(raw.contains(Data("plain ✓".utf8).base64EncodedString()))
        }
    }

    @Test("credentials are sent when configured; wrong ones fail as retriable authentication errors")
    func authentication() async throws {
        try await withCatcher(auth: "mailer:s3cret") { port, directory in
            try await client(port: port, username: "mailer", password: "s3cret").send(message("a@example.com"))
            #expect(try receivedMails(in: directory).count == 1)
            await #expect {
                try await client(port: port, username: "mailer", password: "wrong").send(message("b@example.com"))
            } throws: { error in
                (error as? SMTPError)?.code == .authentication && (error as? SMTPError)?.isRetriable == true
            }
        }
    }

    @Test("a refused recipient (550) is permanent; a server that is not there is retriable")
    func failures() async throws {
        try await withCatcher { port, _ in
            await #expect {
                try await client(port: port).send(message("nobody@rejected.example"))
            } throws: { error in
                guard let error = error as? SMTPError else { return false }
                return error.replyCode == 550 && !error.isRetriable
            }
        }
        let closed = try freeLocalPort()
        await #expect {
            try await client(port: closed).send(message("a@example.com"))
        } throws: { error in
            (error as? SMTPError)?.code == .connection && (error as? SMTPError)?.isRetriable == true
        }
    }

    // MARK: - Helpers

    func message(_ to: String) -> SMTPMessage {
        SMTPMessage(to: to, subject: "hello", text: "hello", messageID: "\(UUID())@test")
    }

    func client(port: Int, username: String? = nil, password: String? = nil) throws -> SMTPClient {
        var logger = Logger(label: "smtp-tests")
        logger.logLevel = .critical
        let configuration = try SMTPConfiguration(
            url: "smtp://127.0.0.1:\(port)", from: "tests@emporium.local", username: username, password: password, startTLS: .never,
            connectTimeout: .seconds(5), timeout: .seconds(10))
        return SMTPClient(configuration: configuration, logger: logger)
    }

    func receivedMails(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }.sorted().map {
            try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)
        }
    }

    func withCatcher(auth: String? = nil, _ body: (Int, URL) async throws -> Void) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? root.appendingPathComponent(".local").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try freeLocalPort()
        var command = "exec '\(state)/venv/bin/python' '\(root.path)/deploy/local/smtp_catcher.py' --port \(port) --directory '\(directory.path)'"
        if let auth { command += " --auth '\(auth)'" }
        let catcher = try ChildProcess(["/bin/sh", "-c", command + " >/dev/null 2>&1"])
        defer { catcher.signal(SIGKILL) }
        let credentials = auth.map { $0.split(separator: ":", maxSplits: 1).map(String.init) }
        let probe = try client(port: port, username: credentials?.first, password: credentials?.last)
        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            (try? await probe.send(message("probe@example.com"))) != nil
        }
        try #require(up, "the SMTP catcher did not start")
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
        try await body(port, directory)
    }
}
