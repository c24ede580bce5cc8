import Foundation
import Postgres
import Testing

@Suite("Transactions and SQL errors", .timeLimit(.minutes(1)))
struct TransactionTests {
    let pool: PostgresPool

    init() throws {
        pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
    }

    struct Abort: Error {}

    @Test("a transaction commits when its body returns and rolls back when it throws")
    func commitAndRollback() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (id int PRIMARY KEY, name text NOT NULL)")
            await #expect(throws: Abort.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (1, \("rolled back"))")
                    let inside = try await connection.query("SELECT count(*) AS n FROM \(unescaped: schema).items").single()
                    #expect(try inside.decode("n", as: Int.self) == 1)
                    throw Abort()
                }
            }
            let afterRollback = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).items").single()
            #expect(try afterRollback.decode("n", as: Int.self) == 0)

            let inserted = try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (2, \("kept"))")
            }
            #expect(inserted == 1)
            let names = try await pool.query("SELECT name FROM \(unescaped: schema).items").map { try $0.decode("name", as: String.self) }
            #expect(names == ["kept"])
        }
    }

    @Test("a failed statement rolls back the transaction and carries its SQLSTATE")
    func sqlErrors() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (id int PRIMARY KEY)")
            let duplicate = try await #require(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (\(1))")
                    try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (\(1))")
                }
            }
            #expect(duplicate.code == .server)
            #expect(duplicate.sqlState == "23505")
            #expect(duplicate.isUniqueViolation)
            #expect(!duplicate.isRetriable)
            #expect(duplicate.message.contains("duplicate key"))
            let count = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).items").single()
            #expect(try count.decode("n", as: Int.self) == 0)

            let syntax = try await #require(throws: PostgresError.self) { try await pool.query("SELEC 1") }
            #expect(syntax.sqlState == "42601")
            // The connection that saw the errors is still usable afterwards.
            #expect(try await pool.query("SELECT 1 AS one").single().decode("one", as: Int.self) == 1)
        }
    }

    @Test("a value with SQL in it stays a value")
    func parametersAreNotSQL() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (name text)")
            let hostile = "x'); DROP TABLE \(schema).items; --"
            try await pool.execute("INSERT INTO \(unescaped: schema).items VALUES (\(hostile))")
            let names = try await pool.query("SELECT name FROM \(unescaped: schema).items").map { try $0.decode("name", as: String.self) }
            #expect(names == [hostile])
        }
    }
}

extension TransactionTests {
    @Test("a prepared statement whose table changed shape is prepared again")
    func changedTable() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (id int)")
            try await pool.withConnection { connection in
                try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (\(1))")
                let before = try await connection.query("SELECT * FROM \(unescaped: schema).items")
                #expect(before.columns == ["id"])
                try await connection.query("ALTER TABLE \(unescaped: schema).items ADD COLUMN name text DEFAULT 'x'")
                let after = try await connection.query("SELECT * FROM \(unescaped: schema).items")
                #expect(after.columns == ["id", "name"])
                #expect(try after.single().decode("name", as: String.self) == "x")
            }
        }
    }
}

extension TransactionTests {
    @Test("a transaction whose body swallowed an SQL error does not report a commit")
    func swallowedErrorIsNotACommit() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (id int PRIMARY KEY)")
            let error = try await #require(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (\(1))")
                    _ = try? await connection.execute("INSERT INTO \(unescaped: schema).items VALUES (\(1))")
                }
            }
            #expect(error.sqlState == "25P02")
            let count = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).items").single()
            #expect(try count.decode("n", as: Int.self) == 0)
        }
    }

    @Test("one SQL text with other parameter types is a statement of its own, each prepared once and reused")
    func preparedByTypes() async throws {
        try await pool.withConnection { connection in
            let number: PostgresQuery = "SELECT \(7)::text || 'prepared-by-types' AS value"
            let word: PostgresQuery = "SELECT \("seven")::text || 'prepared-by-types' AS value"
            #expect(number.sql == word.sql)
            for _ in 0..<3 {
                #expect(try await connection.query(number).single().decode("value", as: String.self) == "7prepared-by-types")
                #expect(try await connection.query(word).single().decode("value", as: String.self) == "sevenprepared-by-types")
            }
            let prepared = try await connection.query("""
                SELECT parameter_types::text AS types FROM pg_prepared_statements WHERE statement = \(number.sql) ORDER BY 1
                """)
            #expect(try prepared.map { try $0.decode("types", as: String.self) } == ["{bigint}", "{text}"])
        }
    }

    @Test("a parameter with a NUL character is refused, not cut short")
    func nulInParameter() async throws {
        let error = try await #require(throws: PostgresError.self) {
            try await pool.query("SELECT \("alice\u{0}admin")::text AS name")
        }
        #expect(error.code == .invalidValue)
    }
}

extension TransactionTests {
    @Test("a transaction with generic plans runs its prepared statements on them, and the setting ends with it")
    func genericPlans() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).items (id int PRIMARY KEY, name text)")
            try await pool.withConnection { connection in
                let mode: PostgresQuery = "SELECT current_setting('plan_cache_mode') AS mode"
                let before: String = try await connection.query(mode).single().decode("mode")
                let read: PostgresQuery = "SELECT name FROM \(unescaped: schema).items WHERE id = \(1)"
                let write: PostgresQuery = "INSERT INTO \(unescaped: schema).items VALUES (\(1), \("held"))"
                try await connection.withTransaction(plans: .generic) { connection in
                    // Held, so the BEGIN and its SET LOCAL go out with it at the COMMIT.
                    _ = try await connection.executeDeferred(write)
                }
                let (inside, name) = try await connection.withTransaction(plans: .generic) { connection in
                    (try await connection.query(mode).single().decode("mode", as: String.self),
                     try await connection.query(read).single().decode("name", as: String.self))
                }
                #expect(inside == "force_generic_plan")
                #expect(name == "held")
                #expect(try await connection.query(mode).single().decode("mode", as: String.self) == before)
                // The server counts each prepared statement's plans: the read ran once, generic.
                let plans: PostgresQuery = """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = \(read.sql)
                    """
                let generic = try await connection.query(plans).single()
                #expect(try generic.decode("generic_plans", as: Int.self) == 1)
                #expect(try generic.decode("custom_plans", as: Int.self) == 0)
                // Left to the server, a statement's first executions are planned for their values.
                try await connection.withTransaction { connection in
                    _ = try await connection.query(read)
                }
                let server = try await connection.query(plans).single()
                #expect(try server.decode("generic_plans", as: Int.self) == 1)
                #expect(try server.decode("custom_plans", as: Int.self) == 1)
            }
        }
    }

    @Test("a transaction that does not wait for the flush commits all the same, and the setting ends with it")
    func commitWithoutFlushWait() async throws {
        try await withScratchSchema(pool) { schema in
            try await pool.query("CREATE TABLE \(unescaped: schema).marks (id int PRIMARY KEY)")
            try await pool.withConnection { connection in
                let setting: PostgresQuery = "SELECT current_setting('synchronous_commit') AS wait"
                let before: String = try await connection.query(setting).single().decode("wait")
                let inside = try await connection.withTransaction(commit: .asynchronous) { connection in
                    try await connection.execute("INSERT INTO \(unescaped: schema).marks VALUES (\(1))")
                    return try await connection.query(setting).single().decode("wait", as: String.self)
                }
                #expect(inside == "off")
                #expect(before == "on")
                #expect(try await connection.query(setting).single().decode("wait", as: String.self) == before)
                // Rolled back, the setting ends as well.
                await #expect(throws: PostgresError.self) {
                    try await connection.withTransaction(commit: .asynchronous) { connection in
                        try await connection.execute("INSERT INTO \(unescaped: schema).marks VALUES (\(3))")
                        try await connection.execute("INSERT INTO \(unescaped: schema).marks VALUES (\(3))")
                    }
                }
                #expect(try await connection.query(setting).single().decode("wait", as: String.self) == before)
                // Held to the COMMIT as well: the BEGIN and its SET LOCAL go out with the insert.
                try await connection.withTransaction(commit: .asynchronous) { connection in
                    _ = try await connection.executeDeferred("INSERT INTO \(unescaped: schema).marks VALUES (\(2))")
                }
            }
            // Committed for every other session at once.
            let ids = try await pool.query("SELECT id FROM \(unescaped: schema).marks ORDER BY id").map { try $0.decode("id", as: Int.self) }
            #expect(ids == [1, 2])
        }
    }
}
