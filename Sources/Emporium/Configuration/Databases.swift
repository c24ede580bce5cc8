import DomainRuntime
import Logging
import Postgres
import ServiceLifecycle

/// The primary and replica pools and the router between them, as a process runs them.
struct Databases: Sendable {
    let primary: PostgresPool
    let replica: PostgresPool?
    let router: PostgresRouter

    init(_ settings: DatabaseSettings, logger: Logger) {
        primary = PostgresPool(configuration: settings.primary, logger: logger)
        replica = settings.replica.map { PostgresPool(configuration: $0, logger: logger) }
        router = PostgresRouter(primary: primary, replica: replica, configuration: settings.router, logger: logger)
    }

    /// In the order a service group starts them (and stops them in reverse).
    var services: [any Service] { [primary] + (replica.map { [$0] } ?? []) + [router] }
}
