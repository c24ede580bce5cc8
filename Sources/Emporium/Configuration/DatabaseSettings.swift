import Logging
import Postgres

/// Where the databases are.
///
/// Keys: `POSTGRES_PRIMARY_URL` (default `postgresql://emporium:emporium@127.0.0.1:5432/emporium`),
/// `POSTGRES_REPLICA_URL` (default: none, reads go to the primary), `POSTGRES_POOL_SIZE` (10),
/// `POSTGRES_MAX_REPLICA_LAG_MS` (1000), `EMPORIUM_MIGRATIONS_DIR` (`migrations`).
struct DatabaseSettings: Sendable {
    var primary: PostgresConfiguration
    var replica: PostgresConfiguration?
    var router: PostgresRouterConfiguration
    var migrationsDirectory: String

    init(environment: Environment) throws {
        let poolSize = try environment.integer("POSTGRES_POOL_SIZE", default: 10, range: 1...1000)
        primary = try Self.postgres(
            environment.string("POSTGRES_PRIMARY_URL", default: "postgresql://emporium:emporium@127.0.0.1:5432/emporium"),
            key: "POSTGRES_PRIMARY_URL", poolSize: poolSize)
        replica = try environment.optionalString("POSTGRES_REPLICA_URL").map {
            try Self.postgres($0, key: "POSTGRES_REPLICA_URL", poolSize: poolSize)
        }
        router = PostgresRouterConfiguration(
            maximumReplicaLag: try environment.milliseconds("POSTGRES_MAX_REPLICA_LAG_MS", default: .seconds(1)))
        migrationsDirectory = environment.string("EMPORIUM_MIGRATIONS_DIR", default: "migrations")
    }

    private static func postgres(_ url: String, key: String, poolSize: Int) throws -> PostgresConfiguration {
        do {
            var configuration = try PostgresConfiguration(url: url, key: key)
            configuration.maximumConnections = poolSize
            return configuration
        } catch let error as PostgresError {
            let message = error.message.hasPrefix("\(key): ") ? String(error.message.dropFirst(key.count + 2)) : error.message
            throw ConfigurationError(key: key, message: message)
        }
    }
}
