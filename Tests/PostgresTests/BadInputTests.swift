import Foundation
import Postgres
import Testing

@Suite("Bad connection settings", .timeLimit(.minutes(1)))
struct BadInputTests {
    /// Connects with `change` applied; expects a connection error naming the server, within a bound.
    func expectConnectionFailure(_ change: (inout PostgresConfiguration) -> Void) async throws -> PostgresError {
        var configuration = try TestServers.primary
        configuration.connectTimeout = .seconds(2)
        change(&configuration)
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let started = ContinuousClock.now
        let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(error.code == .connectionFailed)
        #expect(error.isRetriable)
        #expect(error.server == configuration.address)
        #expect(error.message.contains(configuration.address))
        return error
    }

    @Test("a closed port is reported with the address")
    func wrongPort() async throws {
        let error = try await expectConnectionFailure { $0.port = 1 }
        #expect(error.message.contains("127.0.0.1:1"))
    }

    @Test("a wrong password is reported")
    func wrongPassword() async throws {
        let error = try await expectConnectionFailure { $0.password = "not-the-password" }
        #expect(error.message.contains("password authentication failed"))
    }

    @Test("an unknown database is reported")
    func wrongDatabase() async throws {
        let error = try await expectConnectionFailure { $0.database = "no_such_database" }
        #expect(error.message.contains("no_such_database"))
    }

    @Test("an unknown host is reported")
    func wrongHost() async throws {
        let error = try await expectConnectionFailure { $0.host = "no-such-host.invalid" }
        #expect(error.message.contains("no-such-host.invalid"))
    }

    @Test("a malformed URL names its key")
    func malformedURL() throws {
        let error = try #require(throws: PostgresError.self) {
            try PostgresConfiguration(url: "mysql://localhost/db", key: "POSTGRES_PRIMARY_URL")
        }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.hasPrefix("POSTGRES_PRIMARY_URL:"))
    }

    @Test("a caller waiting for a busy pool times out instead of hanging")
    func poolExhausted() async throws {
        var configuration = try TestServers.primary
        configuration.maximumConnections = 1
        configuration.acquireTimeout = .milliseconds(300)
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        try await pool.withConnection { holder in
            try await holder.query("SELECT 1")
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error.code == .poolTimeout)
        }
        // Once given back, the connection serves the next caller.
        #expect(try await pool.query("SELECT 2 AS two").single().decode("two", as: Int.self) == 2)
    }

    @Test("a closed pool refuses new work")
    func closedPool() async throws {
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        try await pool.query("SELECT 1")
        pool.close()
        let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error.code == .poolClosed)
    }

    @Test("cancelling a task cancels its running statement")
    func cancellation() async throws {
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        let started = ContinuousClock.now
        let task = Task { try await pool.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = try await #require(throws: PostgresError.self) { try await task.value }
        #expect(error.sqlState == "57014")
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
