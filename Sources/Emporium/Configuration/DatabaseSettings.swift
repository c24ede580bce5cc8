import DomainRuntime
import Logging
import Postgres

/// Where the databases are. Keys: ``DatabaseKeys``.
struct DatabaseSettings: Sendable {
    var primary: PostgresConfiguration
    var replica: PostgresConfiguration?
    var router: PostgresRouterConfiguration
    var migrationsDirectory: String

    init(settings reader: SettingsReader) throws {
        let keys = DatabaseKeys()
        let poolSize = try reader.value(keys.poolSize)
        primary = try Self.postgres(try reader.value(keys.primaryURL), key: keys.primaryURL.name, poolSize: poolSize)
        replica = try reader.value(keys.replicaURL).map { try Self.postgres($0, key: keys.replicaURL.name, poolSize: poolSize) }
        router = PostgresRouterConfiguration(maximumReplicaLag: try reader.value(keys.maximumReplicaLag))
        migrationsDirectory = try reader.value(keys.migrationsDirectory)
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

struct DatabaseKeys: SettingGroup {
    var title: String { "Databases" }

    let primaryURL = Setting.text(
        "POSTGRES_PRIMARY_URL", default: "postgresql://emporium:emporium@127.0.0.1:5432/emporium", secrecy: .urlPassword,
        meaning: "the primary: writes and read-after-write. Both URLs take `?pool_size=`, `connect_timeout=` (seconds), "
            + "`application_name=` and libpq's own parameters, passed through: TLS (`sslmode=verify-full&sslrootcert=/path/ca.pem`, "
            + "`sslcert`, `sslkey`, `sslcrl`, ...), `target_session_attrs`, `keepalives*`, `tcp_user_timeout` and more; a name not "
            + "on the list, or an unknown `sslmode` or `target_session_attrs`, stops start-up. Server settings for every session come "
            + "from libpq's `PGOPTIONS` (`PGOPTIONS=\"-c statement_timeout=5s\"`), except `TimeZone`, `DateStyle` and "
            + "`extra_float_digits`, which the decoding fixes")
    let replicaURL = Setting.optionalText(
        "POSTGRES_REPLICA_URL", defaultText: "(none: reads go to the primary)", secrecy: .urlPassword,
        meaning: "a streaming replica for reads that may be a little stale")
    let poolSize = Setting.integer(
        "POSTGRES_POOL_SIZE", default: 10, in: 1...1000,
        meaning: "connections per pool. The mail worker holds two per send: keep it above twice the mail consumers' concurrency (3 for the mail queue, 1 for code mails)")
    let maximumReplicaLag = Setting.milliseconds(
        "POSTGRES_MAX_REPLICA_LAG_MS", default: .seconds(1), meaning: "a replica further behind is skipped for the primary")
    let migrationsDirectory = Setting.text(
        "EMPORIUM_MIGRATIONS_DIR", default: "migrations", meaning: "where `emporium migrate` finds the SQL migrations")
}
