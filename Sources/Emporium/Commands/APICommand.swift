import ArgumentParser
import Catalog
import Gateway
import Hummingbird
import Logging
import Observability
import Ordering
import Postgres
import Redis
import ServiceLifecycle
import UnixSignals

/// `emporium api`: the HTTP gateway. Run any number behind a load balancer.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Serve the HTTP API (any number of replicas)."
    )

    func run() async throws {
        let logger = Logger(label: "emporium.api")
        let environment = Environment()
        let settings = try APISettings(environment: environment)
        let databases = try DatabaseSettings(environment: environment)
        let messaging = try MessagingSettings(environment: environment)
        let orders = try OrderSettings(environment: environment)
        let shutdown = try ShutdownSettings(environment: environment)
        _ = ProcessMetrics.registry

        let database = Databases(databases, logger: logger)
        let redis = RedisPool(configuration: messaging.redis, logger: logger)
        let router = Gateway.router(
            catalog: CatalogStore(database: database.router),
            orders: OrderService(database: database.router, redis: redis, timings: orders.timings, logger: logger),
            ready: { await database.isPrimaryReachable() })
        let application = Application(
            router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                logger.info("api listening", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger)
        logger.warning("API_IDENTITY=headers: the caller is taken from X-Customer-Id and X-Customer-Role until accounts land")
        try await shutdown.group(database.services + [redis, application], logger: logger).run()
    }
}
