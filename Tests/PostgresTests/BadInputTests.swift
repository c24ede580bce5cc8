import EmporiumTestSupport
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
        // 2 s time-out; the margin is for a machine busy with the rest of the suite, the bound is
        // for the operating system's own connect time-out (minutes).
        #expect(ContinuousClock.now - started < .seconds(30))
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

    @Test("libpq parameters in the URL reach libpq (TLS, target_session_attrs); a misspelt one or a bad value names its key")
    func libpqParameters() async throws {
        let primary = try TestServers.primary
        let base = "postgresql://\(primary.user):\(primary.password ?? "")@\(primary.host):\(primary.port)/\(primary.database)"
        let plain = try PostgresConfiguration(url: base + "?sslmode=disable&target_session_attrs=read-write&keepalives_idle=30", key: "POSTGRES_PRIMARY_URL")
        #expect(plain.libpqParameters == ["sslmode": "disable", "target_session_attrs": "read-write", "keepalives_idle": "30"])
        let pool = PostgresPool(configuration: plain, logger: TestServers.logger)
        #expect(try await pool.query("SELECT 1 AS one").single().decode("one", as: Int.self) == 1)
        // libpq acts on them: the primary is no standby, and verify-full wants a root certificate
        // (sslrootcert, or ~/.postgresql/root.crt, which is not there).
        for (option, expected) in [("target_session_attrs=standby", "standby"), ("sslmode=verify-full", "root certificate")] {
            let configuration = try PostgresConfiguration(url: base + "?" + option)
            let refusing = PostgresPool(configuration: configuration, logger: TestServers.logger)
            let error = try await #require(throws: PostgresError.self) { try await refusing.query("SELECT 1") }
            #expect(error.code == .connectionFailed && error.message.contains(expected), "\(option): \(error)")
        }
        for (url, expected) in [(base + "?sslmod=require", "unknown option \"sslmod\""), (base + "?sslmode=sometimes", "sslmode must be one of")] {
            let error = try #require(throws: PostgresError.self) { try PostgresConfiguration(url: url, key: "POSTGRES_PRIMARY_URL") }
            #expect(error.code == .invalidConfiguration && error.message.hasPrefix("POSTGRES_PRIMARY_URL:") && error.message.contains(expected), "\(error)")
        }
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
        let observer = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        let running = {
            try await observer.query("""
                SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE state = 'active' AND query = 'SELECT pg_sleep(600)' AND pid <> pg_backend_pid()
                """).single().decode("n", as: Int.self)
        }
        let task = Task { try await pool.query("SELECT pg_sleep(600)") }
        // Cancel once the server is running the statement (not after a guessed sleep), so the
        // cancel request has a statement to stop.
        #expect(try await eventually(timeout: .seconds(50)) { try await running() == 1 })
        task.cancel()
        // 57014 (query_canceled) comes only from the server stopping the statement: without the
        // cancel request the sleep would run for ten minutes and return a row.
        let error = try await #require(throws: PostgresError.self) { try await task.value }
        #expect(error.sqlState == "57014")
        #expect(try await running() == 0)
    }
}
