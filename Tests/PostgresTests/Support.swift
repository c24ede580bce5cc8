
import Foundation
import Logging
import Postgres

/// Addresses of the servers `deploy/local/services.sh` starts, overridable through the environment.
enum TestServers {
    static let environment = ProcessInfo.processInfo.environment

    static var primary: PostgresConfiguration {
        get throws {
            try PostgresConfiguration(url: environment["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium")
        }
    }

    static var replica: PostgresConfiguration {
        get throws {
            try PostgresConfiguration(url: environment["POSTGRES_REPLICA_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5433/emporium")
        }
    }

    /// A superuser on the replica, for pausing and resuming WAL replay.
    static var replicaAdmin: PostgresConfiguration {
        get throws {
            try PostgresConfiguration(url: environment["POSTGRES_REPLICA_ADMIN_URL"] ?? "postgresql://postgres@127.0.0.1:5433/emporium")
        }
    }

    static var servicesScript: String {
        environment["EMPORIUM_SERVICES_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/local/services.sh").path
    }

    static let logger = Logger(label: "emporium.tests")
}

/// A schema of the test's own, dropped at the end, so tests never see each other's tables.
func withScratchSchema<R: Sendable>(
    _ pool: PostgresPool, _ body: (String) async throws -> R
) async throws -> R {
    let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try await pool.query("CREATE SCHEMA \(unescaped: schema)")
    do {
        let result = try await body(schema)
        try await pool.query("DROP SCHEMA \(unescaped: schema) CASCADE")
        return result
    } catch {
        _ = try? await pool.query("DROP SCHEMA \(unescaped: schema) CASCADE")
        throw error
    }
}

/// Runs the local services script (for stopping and starting the replica). Spawned and awaited
/// with posix_spawn/waitpid: Foundation's `Process.waitUntilExit` was seen to hang here.
func runServicesScript(_ argument: String) throws {
    let arguments = ["/bin/bash", TestServers.servicesScript, argument]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ) == 0 else {
        throw PostgresTestFailure("cannot start services.sh \(argument)")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    guard status == 0 else {
        throw PostgresTestFailure("services.sh \(argument) exited with status \(status)")
    }
}

struct PostgresTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
