import ArgumentParser
import Auth
import Catalog
import DomainRuntime
import GRPCAPI
import Logging
import Observability
import Ordering
import Postgres
import Redis
import ServiceLifecycle

/// `emporium grpc`: the gRPC API (stock and orders for other services; docs/grpc.md), any number
/// of replicas. `/metrics` and `/health/*` on `METRICS_PORT` (9405).
struct GRPCServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc",
        abstract: "Serve the gRPC API: StockService, OrderService, StorefrontService, grpc.health.v1 (any number of replicas)."
    )

    func run() async throws {
        let logger = Logger(label: "emporium.grpc")
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let settings = try GRPCSettings(settings: environment)
        let databases = try DatabaseSettings(settings: environment)
        let messaging = try MessagingSettings(settings: environment)
        let orderSettings = try OrderSettings(settings: environment)
        let shutdown = try ShutdownSettings(settings: environment)
        _ = ProcessMetrics.registry

        let database = Databases(databases, logger: logger)
        let redis = RedisPool(configuration: messaging.redis, logger: logger)
        let callers = GRPCCallers(tokens: await AccessTokens(settings: try AuthSettings.tokens(settings: environment)), serviceToken: settings.serviceToken)
        let orders = OrderService(settings: orderSettings, database: database.router, redis: redis, logger: logger)
        let readiness = [ReadinessChecks.postgres(database.primary), ReadinessChecks.redis(redis)]
        let reflection = try ReflectionGRPCService(services: GRPCServerService.serviceNames)
        let server = GRPCServerService(
            host: settings.host, port: settings.port,
            services: [
                reflection, reflection.alpha,
                StockGRPCService(catalog: CatalogStore(database: database.router), callers: callers, logger: logger),
                OrderGRPCService(orders: orders, administration: OrderAdministration(database: database.router), callers: callers, logger: logger),
                StorefrontGRPCService(
                    catalog: CatalogStore(database: database.router), carts: CartService(database: database.router, orders: orders), callers: callers,
                    logger: logger),
                HealthGRPCService(readiness: CachedHealthReport(checks: readiness, logger: logger)),
            ],
            logger: logger)
        let metrics = ObservabilityServer(
            host: messaging.metricsHost, port: messaging.metricsPort ?? 9405, logger: logger,
            checks: readiness)
        try await shutdown.group(database.services + [redis, metrics, server], logger: logger).run()
    }
}
