import DomainRuntime
import ArgumentParser
import Logging
import Postgres

/// `emporium migrate`: applies the versioned SQL files under an advisory lock.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply database migrations (versioned SQL files, in order, under an advisory lock)."
    )

    @Option(help: "Directory of NNNN_description.sql files (default: $EMPORIUM_MIGRATIONS_DIR or ./migrations).")
    var directory: String?

    func run() async throws {
        let logger = Logger(label: "emporium.migrate")
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let settings = try DatabaseSettings(settings: environment)
        let directory = self.directory ?? settings.migrationsDirectory
        let migrations = try PostgresMigration.load(from: directory)
        let pool = PostgresPool(configuration: settings.primary, logger: logger)
        defer { pool.close() }
        let applied = try await PostgresMigrator(pool: pool, logger: logger).migrate(migrations)
        print(applied.isEmpty
            ? "migrate: \(migrations.count) migrations, all already applied (\(settings.primary.address))"
            : "migrate: applied \(applied.count) of \(migrations.count) migrations to \(settings.primary.address): \(applied.map(String.init).joined(separator: ", "))")
    }
}
