import EmporiumTestSupport
import Foundation
import Synchronization

/// The fleet's own SMTP catcher (`deploy/local/smtp_catcher.py`, aiosmtpd from the services'
/// virtualenv) on a free port, keeping mail in a folder of the fleet's; tests stop and start it
/// to see the mail worker retry.
final class SMTPCatcher: Sendable {
    let port: Int
    let directory: URL
    private let process = Mutex<ChildProcess?>(nil)

    init(port: Int, directory: URL) {
        self.port = port
        self.directory = directory
    }

    static var python: String {
        let state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? PipelineFleet.repositoryRoot.appendingPathComponent(".local").path
        return "\(state)/venv/bin/python"
    }

    func start() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = PipelineFleet.repositoryRoot.appendingPathComponent("deploy/local/smtp_catcher.py").path
        let log = directory.deletingLastPathComponent().appendingPathComponent("smtp.log").path
        let child = try ChildProcess([
            "/bin/sh", "-c", "exec '\(Self.python)' '\(script)' --host 127.0.0.1 --port \(port) --directory '\(directory.path)' >> '\(log)' 2>&1",
        ])
        process.withLock { $0 = child }
        let up = try await eventually(timeout: .seconds(20), every: .milliseconds(100)) { self.accepting() }
        guard up else { throw FleetFailure(description: "the SMTP catcher did not start; see \(log)") }
    }

    func stop() async throws {
        guard let child = process.withLock({ current -> ChildProcess? in
            defer { current = nil }
            return current
        }) else { return }
        // SIGKILL: the catcher keeps no state but its finished files, and the test process's
        // blocked-signal mask (inherited through posix_spawn) can keep a SIGTERM from landing.
        child.signal(SIGKILL)
        _ = try await child.wait(timeout: .seconds(10))
    }

    func terminate() {
        process.withLock { $0 }?.signal(SIGKILL)
    }

    private func accepting() -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A mail as the catcher kept it.
    struct Mail: Sendable {
        var to: String
        var headers: [String: String]
        /// The decoded text/plain part.
        var text: String

        var template: String? { headers["x-emporium-template"] }
        var mailID: String? { headers["x-emporium-mail-id"] }
    }

    /// Every mail received so far.
    func mails() -> [Mail] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".eml") }.sorted().compactMap { name in
            guard let raw = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else { return nil }
            return Self.parse(raw)
        }
    }

    func mails(to address: String) -> [Mail] {
        mails().filter { $0.to.lowercased() == address.lowercased() }
    }

    /// Headers, and the first text/plain part (base64, as the mail worker writes it).
    static func parse(_ raw: String) -> Mail? {
        let normalised = raw.replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = normalised.range(of: "\n\n") else { return nil }
        var headers: [String: String] = [:]
        for line in normalised[..<split.lowerBound].split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var text = ""
        let body = String(normalised[split.upperBound...])
        if let part = body.range(of: "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n") {
            let encoded = body[part.upperBound...].prefix { $0 != "-" }.replacingOccurrences(of: "\n", with: "")
            text = Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        return Mail(to: headers["to"] ?? "", headers: headers, text: text)
    }
}
