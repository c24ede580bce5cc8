import Foundation
import Postgres
import Testing

@Suite("Migrations", .timeLimit(.minutes(1)))
struct MigrationTests {
    let pool: PostgresPool

    init() throws {
        pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
    }

    /// A migrations folder of the test's own, with its own schema, record table and lock key.
    func withMigrationsFolder(_ body: (URL, String, PostgresMigrator) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await withScratchSchema(pool) { schema in
            let migrator = PostgresMigrator(
                pool: pool, table: "\(schema).migrations", lockKey: Int64.random(in: 1...Int64.max), logger: TestServers.logger)
            try await body(folder, schema, migrator)
        }
    }

    @Test("migrations apply in order once; running them again is a no-op")
    func appliesOnce() async throws {
        try await withMigrationsFolder { folder, schema, migrator in
            try "CREATE TABLE \(schema).products (sku text PRIMARY KEY);".write(
                to: folder.appendingPathComponent("0001_products.sql"), atomically: true, encoding: .utf8)
            try """
                ALTER TABLE \(schema).products ADD COLUMN name text NOT NULL DEFAULT '';
                INSERT INTO \(schema).products (sku, name) VALUES ('SKU-1', 'Kaffee');
                """.write(to: folder.appendingPathComponent("0002_names.sql"), atomically: true, encoding: .utf8)
            try "not a migration".write(to: folder.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)

            let migrations = try PostgresMigration.load(from: folder.path)
            #expect(migrations.map(\.version) == [1, 2])
            #expect(try await migrator.migrate(migrations) == [1, 2])
            #expect(try await migrator.migrate(migrations) == [])
            #expect(try await migrator.migrate(try PostgresMigration.load(from: folder.path)) == [])
            let rows = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).products").single()
            #expect(try rows.decode("n", as: Int.self) == 1)
            let recorded = try await pool.query("SELECT version FROM \(unescaped: schema).migrations ORDER BY version")
            #expect(try recorded.map { try $0.decode("version", as: Int.self) } == [1, 2])
        }
    }

    @Test("a changed applied file is refused")
    func changedFileRefused() async throws {
        try await withMigrationsFolder { folder, schema, migrator in
            let file = folder.appendingPathComponent("0001_products.sql")
            try "CREATE TABLE \(schema).products (sku text PRIMARY KEY);".write(to: file, atomically: true, encoding: .utf8)
            #expect(try await migrator.migrate(try PostgresMigration.load(from: folder.path)) == [1])
            try "CREATE TABLE \(schema).products (sku text PRIMARY KEY, extra int);".write(to: file, atomically: true, encoding: .utf8)
            try "CREATE TABLE \(schema).orders (id int);".write(
                to: folder.appendingPathComponent("0002_orders.sql"), atomically: true, encoding: .utf8)
            let error = try await #require(throws: PostgresError.self) {
                try await migrator.migrate(try PostgresMigration.load(from: folder.path))
            }
            #expect(error.code == .migration)
            #expect(error.message.contains("0001_products"))
            // Nothing after the refused file ran.
            let orders = try await pool.query("SELECT to_regclass(\("\(schema).orders")) IS NULL AS absent").single()
            #expect(try orders.decode("absent", as: Bool.self))
        }
    }

    @Test("a failing migration is rolled back and not recorded")
    func failingMigration() async throws {
        try await withMigrationsFolder { folder, schema, migrator in
            try "CREATE TABLE \(schema).a (id int); CREATE TABLE \(schema).a (id int);".write(
                to: folder.appendingPathComponent("0001_broken.sql"), atomically: true, encoding: .utf8)
            let error = try await #require(throws: PostgresError.self) {
                try await migrator.migrate(try PostgresMigration.load(from: folder.path))
            }
            #expect(error.code == .migration)
            #expect(error.sqlState == "42P07")
            let table = try await pool.query("SELECT to_regclass(\("\(schema).a")) IS NULL AS absent").single()
            #expect(try table.decode("absent", as: Bool.self))
            let recorded = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).migrations").single()
            #expect(try recorded.decode("n", as: Int.self) == 0)
        }
    }

    @Test("concurrent runs apply each migration exactly once")
    func concurrentRuns() async throws {
        try await withMigrationsFolder { folder, schema, migrator in
            try "CREATE TABLE \(schema).counter (n int); INSERT INTO \(schema).counter VALUES (1);".write(
                to: folder.appendingPathComponent("0001_counter.sql"), atomically: true, encoding: .utf8)
            let migrations = try PostgresMigration.load(from: folder.path)
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await migrator.migrate(migrations) } }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied == [1])
            let rows = try await pool.query("SELECT count(*) AS n FROM \(unescaped: schema).counter").single()
            #expect(try rows.decode("n", as: Int.self) == 1)
        }
    }

    @Test("two files with one version are refused")
    func duplicateVersions() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "SELECT 1;".write(to: folder.appendingPathComponent("0001_a.sql"), atomically: true, encoding: .utf8)
        try "SELECT 1;".write(to: folder.appendingPathComponent("001_b.sql"), atomically: true, encoding: .utf8)
        let error = try #require(throws: PostgresError.self) { try PostgresMigration.load(from: folder.path) }
        #expect(error.message.contains("share version 1"))
    }
}
