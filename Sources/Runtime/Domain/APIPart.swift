public import HTTPRuntime
public import Hummingbird
public import Logging
public import Postgres
public import Redis
public import ServiceLifecycle

/// What the API process gives a domain when it builds the domain's part of the API.
public struct APIContext: Sendable {
    public var settings: SettingsReader
    /// The primary, and the replica for reads that may be a little stale.
    public var database: PostgresRouter
    public var redis: RedisPool
    /// `MESSAGING_NAMESPACE`: prefixes Redis keys.
    public var namespace: String
    public var logger: Logger

    public init(settings: SettingsReader, database: PostgresRouter, redis: RedisPool, namespace: String, logger: Logger) {
        self.settings = settings
        self.database = database
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
    }
}

/// A domain's part of the API: its routes, and services the API process runs beside them (an
/// account created at start, say).
public struct APIPart: Sendable {
    public var routes: [any DomainRoutes]
    public var services: [any Service]

    public init(routes: [any DomainRoutes], services: [any Service] = []) {
        self.routes = routes
        self.services = services
    }
}

/// Routes written against ``IdentifiedRequestContext``, added to whatever router serves them.
public protocol DomainRoutes: Sendable {
    func register<Context: IdentifiedRequestContext>(on router: Router<Context>)
}
