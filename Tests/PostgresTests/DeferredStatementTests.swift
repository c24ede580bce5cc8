import Foundation
@testable import Postgres
import Testing

/// `executeDeferred`: a statement whose result is not needed waits, and goes to the server with
/// the transaction's next statement or its COMMIT, in one round trip.
@Suite("Deferred statements", .timeLimit(.minutes(1)))
struct DeferredStatementTests {
    let pool: PostgresPool

    init() throws {
        pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
    }

    @Test("a deferred write is not sent before the COMMIT: another session updates its row unblocked, then the commit's write wins")
    func sentWithCommit() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).rows (id int PRIMARY KEY, v int NOT NULL)")
            try await pool.query("INSERT INTO \(unescaped: schema).rows VALUES (1, 0)")
            let other = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
            defer { other.close() }
            try await pool.withTransaction { connection in
                try await connection.executeDeferred("UPDATE \(unescaped: schema).rows SET v = 1 WHERE id = 1")
                // Had the update reached the server, this would wait for its row lock, and give
                // up after the lock timeout.
                let results = try await other.pipeline([
                    "SET lock_timeout = '5s'", "UPDATE \(unescaped: schema).rows SET v = 2 WHERE id = 1",
                ])
                #expect(results[1].affectedRows == 1)
            }
            #expect(try await pool.query("SELECT v FROM \(unescaped: schema).rows WHERE id = 1").single().decode("v", as: Int.self) == 1)
        }
    }

    @Test("the next statement of the transaction sees what the deferred ones wrote, in order")
    func flushedBeforeTheNextStatement() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).rows (id int PRIMARY KEY)")
            let seen = try await pool.withTransaction { connection in
                for id in 1...3 { try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (\(id))") }
                return try await connection.query("SELECT array_agg(id ORDER BY id)::text AS ids FROM \(unescaped: schema).rows")
                    .single().decode("ids", as: String.self)
            }
            #expect(seen == "{1,2,3}")
        }
    }

    @Test("a deferred statement that fails fails the COMMIT: nothing of the transaction stays, and the connection is usable")
    func failureAtCommit() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).rows (id int PRIMARY KEY)")
            try await pool.query("INSERT INTO \(unescaped: schema).rows VALUES (1)")
            let error = try await #require(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unescaped: schema).rows VALUES (2)")
                    try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (1)")
                }
            }
            #expect(error.sqlState == "23505")
            let ids = try await pool.query("SELECT array_agg(id ORDER BY id)::text AS ids FROM \(unescaped: schema).rows").single()
            #expect(try ids.decode("ids", as: String.self) == "{1}")
            #expect(try await pool.query("SELECT 1 AS one").single().decode("one", as: Int.self) == 1)
        }
    }

    @Test("a deferred statement's result is known once the round trip it went with was answered: done, failed, or skipped after a failure")
    func resultOfDeferred() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).rows (id int PRIMARY KEY)")
            try await pool.query("INSERT INTO \(unescaped: schema).rows VALUES (1)")
            try await pool.withTransaction { connection in
                let first = try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (2), (3)")
                #expect(first.outcome == nil)
                try await connection.query("SELECT 1 AS one")
                guard case .done(let rows) = first.outcome else { Issue.record("not done: \(String(describing: first.outcome))"); return }
                #expect(rows.affectedRows == 2)
            }
            let failed = LockedResults()
            await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    failed.results.append(try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (1)"))
                    failed.results.append(try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (4)"))
                    try await connection.query("SELECT 1 AS one")
                }
            }
            #expect(failed.results[0].error?.isUniqueViolation == true)
            guard case .skipped = failed.results[1].outcome else { Issue.record("not skipped: \(String(describing: failed.results[1].outcome))"); return }
            // Held statements a rollback threw away never had an answer.
            let dropped = LockedResults()
            await #expect(throws: CancellationError.self) {
                try await pool.withTransaction { connection in
                    dropped.results.append(try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (5)"))
                    throw CancellationError()
                }
            }
            #expect(dropped.results[0].outcome == nil)
            let ids = try await pool.query("SELECT array_agg(id ORDER BY id)::text AS ids FROM \(unescaped: schema).rows").single()
            #expect(try ids.decode("ids", as: String.self) == "{1,2,3}")
        }
    }

    @Test("outside a transaction a deferred statement runs at once")
    func outsideTransaction() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).rows (id int PRIMARY KEY)")
            try await pool.withConnection { connection in
                try await connection.executeDeferred("INSERT INTO \(unescaped: schema).rows VALUES (7)")
            }
            #expect(try await pool.query("SELECT count(*)::int AS n FROM \(unescaped: schema).rows").single().decode("n", as: Int.self) == 1)
        }
    }
}

/// Results collected inside a transaction's body, read after it.
private final class LockedResults: @unchecked Sendable {
    var results: [PostgresDeferredResult] = []
}
