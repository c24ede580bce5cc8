import EmporiumTestSupport

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

/// Runs the local services script (for stopping and starting the replica).
func runServicesScript(_ argument: String) async throws {
    try await ServicesScript.run(argument)
}
