import Foundation
public import Logging

/// One versioned SQL file, `NNNN_description.sql`.
public struct PostgresMigration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every `NNNN_description.sql` in `directory`, ordered by version. Two files with the
    /// same version, or a `.sql` file without one, are an error.
    public static func load(from directory: String) throws -> [PostgresMigration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw PostgresError(.migration, "cannot read the migrations directory \(directory): \(error.localizedDescription)")
        }
        var migrations: [Int: PostgresMigration] = [:]
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let separator = stem.firstIndex(of: "_"), let version = Int(stem[..<separator]) else {
                throw PostgresError(.migration, "\(file): migration files are named NNNN_description.sql")
            }
            if let existing = migrations[version] {
                throw PostgresError(.migration, "\(file) and \(existing.name).sql share version \(version)")
            }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PostgresError(.migration, "cannot read \(path)")
            }
            migrations[version] = PostgresMigration(version: version, name: String(stem), sql: String(decoding: data, as: UTF8.self))
        }
        return migrations.values.sorted { $0.version < $1.version }
    }
}

/// Applies versioned SQL migrations in order, each in its own transaction, under an advisory lock
/// so that concurrent runs (several replicas starting at once) apply each file once.
///
/// Applied files are recorded with a SHA-256 checksum; if an applied file has changed since, the
/// migrator refuses to run: fix it with a new migration instead.
public struct PostgresMigrator: Sendable {
    public let pool: PostgresPool
    /// The table recording applied migrations, possibly schema-qualified.
    public let table: String
    public let lockKey: Int64
    private let logger: Logger

    public init(pool: PostgresPool, table: String = "public.emporium_migrations", lockKey: Int64 = 0x656D_706F_7269, logger: Logger) {
        self.pool = pool
        self.table = table
        self.lockKey = lockKey
        self.logger = logger
    }

    /// Applies the migrations not applied yet; returns their versions.
    @discardableResult
    public func migrate(_ migrations: [PostgresMigration]) async throws -> [Int] {
        let table = self.table
        let lockKey = self.lockKey
        let logger = self.logger
        return try await pool.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(lockKey))")
            do {
                let applied = try await Self.applyLocked(migrations, table: table, on: connection, logger: logger)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(lockKey))")
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))")
                throw error
            }
        }
    }

    private static func applyLocked(
        _ migrations: [PostgresMigration], table: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        // `table` is the program's own constant, never outside input.
        try await connection.executeScript("""
            CREATE TABLE IF NOT EXISTS \(table) (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for row in try await connection.query("SELECT version, name, checksum FROM \(unescaped: table)") {
            recorded[try row.decode("version")] = (try row.decode("name"), try row.decode("checksum"))
        }
        var applied: [Int] = []
        for migration in migrations {
            let checksum = try await connection.query(
                "SELECT encode(sha256(convert_to(\(migration.sql)::text, 'UTF8')), 'hex') AS checksum"
            ).single().decode("checksum", as: String.self)
            if let existing = recorded[migration.version] {
                guard existing.checksum == checksum else {
                    throw PostgresError(.migration, "migration \(migration.name) was changed after it was applied (checksum \(existing.checksum.prefix(12))…, now \(checksum.prefix(12))…); add a new migration instead")
                }
                continue
            }
            try await connection.withTransaction { connection in
                do {
                    try await connection.executeScript(migration.sql)
                } catch let error as PostgresError {
                    throw PostgresError(.migration, "migration \(migration.name) failed: \(error.message)", sqlState: error.sqlState, detail: error.detail, constraint: error.constraint, server: error.server)
                }
                try await connection.execute(
                    "INSERT INTO \(unescaped: table) (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(checksum))")
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }
}
