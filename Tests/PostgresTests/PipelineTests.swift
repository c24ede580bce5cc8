import Foundation
@testable import Postgres
import Testing

@Suite("Pipeline mode", .timeLimit(.minutes(1)))
struct PipelineTests {
    let pool: PostgresPool

    init() throws {
        pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
    }

    @Test("a batch of 1,000 inserts goes out in one pipeline")
    func thousandInserts() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).events (n int PRIMARY KEY, payload jsonb NOT NULL)")
            let batch: [PostgresQuery] = try (1...1000).map { n in
                "INSERT INTO \(unescaped: schema).events VALUES (\(n), \(try PostgresJSONB(["n": n])))"
            }
            let results = try await pool.pipeline(batch)
            #expect(results.count == 1000)
            #expect(results.allSatisfy { $0.affectedRows == 1 })
            let summary = try await pool.query(
                "SELECT count(*) AS n, sum((payload->>'n')::int) AS total FROM \(unescaped: schema).events").single()
            #expect(try summary.decode("n", as: Int.self) == 1000)
            #expect(try summary.decode("total", as: Int.self) == 500_500)
        }
    }

    @Test("a failing statement rolls the whole batch back and names its position")
    func atomicBatch() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).events (n int PRIMARY KEY)")
            let batch: [PostgresQuery] = [1, 2, 2, 3].map { "INSERT INTO \(unescaped: schema).events VALUES (\($0))" }
            let error = try await #require(throws: PostgresError.self) { try await pool.pipeline(batch) }
            #expect(error.sqlState == "23505")
            #expect(error.message.contains("statement 3 of 4"))
            let count = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).events").single()
            #expect(try count.decode("n", as: Int.self) == 0)
            // The connection left pipeline mode cleanly.
            let rows = try await pool.pipeline(["SELECT 1 AS one", "SELECT 2 AS two"])
            #expect(try rows[1].single().decode("two", as: Int.self) == 2)
        }
    }

    @Test("a batch whose end never came is a lost connection, whatever libpq still says of the socket")
    func lostSyncPointIsConnectionLoss() {
        // The chaos run's case: a primary's fast shutdown mid-batch while libpq still reported the
        // connection open. It used to be a non-retriable server error ("pipeline lost its sync
        // point"), and the message being handled was dead-lettered at once.
        let bare = PGConnectionHandle.lostSyncPoint(nil, server: "db:5432")
        #expect(bare.isConnectionLoss && bare.isRetriable)
        let afterStatement = PGConnectionHandle.lostSyncPoint(PostgresError(.server, "no such table", sqlState: "42P01", server: "db:5432"), server: "db:5432")
        #expect(afterStatement.isConnectionLoss && afterStatement.message.contains("no such table"))
        let shutdown = PostgresError(.server, "terminating connection due to administrator command", sqlState: "57P01", server: "db:5432")
        #expect(PGConnectionHandle.lostSyncPoint(shutdown, server: "db:5432").sqlState == "57P01")
    }

    @Test("an outage is waited out, other errors are not")
    func outageWaitedOut() async throws {
        var calls = 0
        let value = try await PostgresOutage.waitOut(patience: .seconds(10)) {
            calls += 1
            if calls < 3 { throw PostgresError(.connectionFailed, "connection refused", server: "db:5432") }
            return 7
        }
        #expect(value == 7 && calls == 3)
        calls = 0
        let other = try await #require(throws: PostgresError.self) {
            try await PostgresOutage.waitOut(patience: .seconds(10)) {
                calls += 1
                throw PostgresError(.server, "duplicate key", sqlState: "23505", server: "db:5432")
            }
        }
        #expect(other.sqlState == "23505" && calls == 1)
        let start = ContinuousClock.now
        await #expect(throws: PostgresError.self) {
            try await PostgresOutage.waitOut(patience: .milliseconds(500)) { throw PostgresError(.connectionClosed, "gone", server: "db:5432") }
        }
        // Patience of 0.5 s; the bound is for a wait that ignores it, with margin for a busy machine.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test("a pipeline of large results does not deadlock")
    func largeResults() async throws {
        let batch: [PostgresQuery] = (0..<20).map { _ in "SELECT repeat('x', 1000) AS filler FROM generate_series(1, 2000)" }
        let results = try await pool.pipeline(batch)
        #expect(results.map(\.count) == Array(repeating: 2000, count: 20))
    }
}
