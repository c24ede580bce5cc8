@testable import Gateway
import HTTPRuntime
@testable import Postgres
import Testing

/// What the API answers while the database is out of reach, without a server (the chaos run
/// restarts the primary under load and counts the answers).
@Suite("Database outage answers")
struct OutageAnswerTests {
    @Test("a database out of reach is a 503 with Retry-After; a statement's own error is not")
    func outageIsUnavailable() throws {
        // Before: every such error was a 500, which tells a client its request failed.
        for error in [
            PostgresError(.connectionFailed, "connection refused", server: "db:5432"),
            PostgresError(.connectionClosed, "pipeline lost its sync point", server: "db:5432"),
            PostgresError(.server, "terminating connection due to administrator command", sqlState: "57P01", server: "db:5432"),
            PostgresError(.server, "the database system is starting up", sqlState: "57P03", server: "db:5432"),
        ] {
            let problem = try #require(Gateway.unavailable(error), "\(error)")
            #expect(problem.status == .serviceUnavailable && problem.headers[.retryAfter] == "1")
        }
        #expect(Gateway.unavailable(PostgresError(.server, "duplicate key", sqlState: "23505", server: "db:5432")) == nil)
        #expect(Gateway.unavailable(CancellationError()) == nil)
    }
}
