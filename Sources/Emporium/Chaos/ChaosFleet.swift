import Foundation
import NIOCore
import Processes
import Synchronization

/// The chaos run's own fleet: every role as separate `emporium` processes with replicas, on the
/// local services (a database, a RabbitMQ namespace and a Kafka mock cluster of its own), each
/// with a fixed port so a killed process comes back where it was.
final class ChaosFleet: Sendable {
    /// One process of the fleet.
    struct Member: Sendable {
        var name: String
        var role: String
        var arguments: [String]
        /// `/health/ready`: the API's own port, the metrics port of the others.
        var readiness: HTTPEndpoint
        var environment: [String: String]
    }

    /// How many of each role (at least what the issue names: api ×2, relay ×2, product ×3, order ×2,
    /// mail ×2, auth ×1).
    static let replicas: [(role: String, arguments: [String], count: Int)] = [
        ("api", ["api"], 2), ("relay", ["relay"], 2), ("worker-product", ["worker", "product"], 3),
        ("worker-order", ["worker", "order"], 2), ("worker-mail", ["worker", "mail"], 2), ("worker-auth", ["worker", "auth"], 1),
    ]

    let binary: String
    let members: [Member]
    let logDirectory: URL
    private let running: Mutex<[String: ChildProcess]>
    /// Processes that ended without the run killing them: a crash is a finding.
    private let unexpectedExits: Mutex<[String]>

    init(binary: String, environment: [String: String], logDirectory: URL) throws {
        self.binary = binary
        self.logDirectory = logDirectory
        var members: [Member] = []
        for (role, arguments, count) in Self.replicas {
            for index in 1...count {
                let port = try freeLocalPort()
                var own = environment
                if role == "api" {
                    own["API_PORT"] = String(port)
                    own["METRICS_PORT"] = "0"
                } else {
                    own["METRICS_PORT"] = String(port)
                }
                members.append(Member(
                    name: "\(role)-\(index)", role: role, arguments: arguments,
                    readiness: HTTPEndpoint(host: "127.0.0.1", port: port), environment: own))
            }
        }
        self.members = members
        running = Mutex([:])
        unexpectedExits = Mutex([])
    }

    var apiEndpoints: [HTTPEndpoint] { members.filter { $0.role == "api" }.map(\.readiness) }

    func member(_ name: String) -> Member? { members.first { $0.name == name } }

    /// Starts `name` (appending to its log).
    func start(_ name: String) throws {
        guard let member = member(name) else { return }
        let log = logDirectory.appendingPathComponent("\(name).log").path
        let command = "exec '\(binary)' \(member.arguments.joined(separator: " ")) >> '\(log)' 2>&1"
        let child = try ChildProcess(["/bin/sh", "-c", command], environment: member.environment)
        running.withLock { $0[name] = child }
    }

    func startAll() throws {
        for member in members { try start(member.name) }
    }

    /// SIGKILL, and waits until the process is gone.
    func kill(_ name: String) async throws {
        guard let child = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        child.signal(SIGKILL)
        try await child.wait(timeout: .seconds(30))
    }

    func signal(_ name: String, _ signal: Int32) {
        running.withLock { $0[name] }?.signal(signal)
    }

    /// Members not running now (killed and not yet restarted, or ended on their own).
    func notRunning() -> [String] {
        let running = running.withLock { $0 }
        return members.map(\.name).filter { running[$0] == nil }
    }

    /// Notes processes that ended without being killed (and forgets them, so they can be started
    /// again); returns their names.
    func reapUnexpectedExits() -> [String] {
        let ended = running.withLock { running in
            var ended: [(name: String, status: Int32)] = []
            for (name, child) in running {
                if let status = try? child.exitStatus() {
                    ended.append((name, status))
                    running[name] = nil
                }
            }
            return ended
        }
        if !ended.isEmpty { unexpectedExits.withLock { $0 += ended.map { "\($0.name) (wait status \($0.status))" } } }
        return ended.map(\.name)
    }

    var crashes: [String] { unexpectedExits.withLock { $0 } }

    /// Waits until every member answers `/health/ready` with 200.
    func waitUntilReady(timeout: Duration, group: any EventLoopGroup) async throws {
        let deadline = ContinuousClock.now + timeout
        var waiting = members
        while !waiting.isEmpty {
            var still: [Member] = []
            for member in waiting where !(await Self.isReady(member.readiness, group: group)) { still.append(member) }
            waiting = still
            if waiting.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw ChaosError("not ready after \(timeout): \(waiting.map(\.name).joined(separator: ", ")) (logs in \(logDirectory.path))")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    static func isReady(_ endpoint: HTTPEndpoint, group: any EventLoopGroup) async -> Bool {
        guard let connection = try? await HTTPClientConnection.connect(to: endpoint, on: group) else { return false }
        defer { Task { await connection.close() } }
        return (try? await connection.send(.GET, "/health/ready", headers: [], timeout: .seconds(3)).status) == 200
    }

    /// SIGCONT then SIGTERM to every process, and waits for them (SIGKILL after `grace`).
    func stopAll(grace: Duration = .seconds(20)) async {
        let children = running.withLock { running in
            defer { running.removeAll() }
            return Array(running.values)
        }
        for child in children {
            child.signal(SIGCONT)
            child.signal(SIGTERM)
        }
        for child in children where (try? await child.wait(timeout: grace)) == nil {
            child.signal(SIGKILL)
            _ = try? await child.wait(timeout: .seconds(10))
        }
    }
}

struct ChaosError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
