import AMQP
import ArgumentParser
import Auth
import Catalog
import Gateway
import Hummingbird
import Kafka
import Logging
import Mailing
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
        let environment = try Environment()
        try environment.refusePlaceholderSecrets()
        let settings = try APISettings(environment: environment)
        let databases = try DatabaseSettings(environment: environment)
        let messaging = try MessagingSettings(environment: environment)
        let orders = try OrderSettings(environment: environment)
        let auth = try AuthSettings(environment: environment, namespace: messaging.namespace)
        let tokenSettings = try AuthSettings.tokens(environment: environment)
        let shutdown = try ShutdownSettings(environment: environment)
        _ = ProcessMetrics.registry

        let database = Databases(databases, logger: logger)
        let redis = RedisPool(configuration: messaging.redis, logger: logger)
        // Only for /health/ready: the API itself writes to the outbox, never to a broker.
        let amqp = try AMQPConnection(
            configuration: messaging.amqp, topology: ReadinessChecks.workTopology(messaging.delays.workExchange), logger: logger)
        let kafka = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)

        let tokens = await AccessTokens(settings: tokenSettings)
        let authService = AuthService(
            database: database.router, redis: redis, tokens: tokens, passwords: try await PasswordVault.make(cost: auth.passwordCost),
            policy: auth.policy, logger: logger)
        let readiness = [
            ReadinessChecks.postgres(database.primary), ReadinessChecks.redis(redis),
            ReadinessChecks.rabbitmq(amqp, workExchange: messaging.delays.workExchange), ReadinessChecks.kafka(kafka),
        ]
        let orderService = OrderService(database: database.router, redis: redis, timings: orders.timings, limits: orders.limits, logger: logger)
        var services = Gateway.Services(
            auth: authService, tokens: tokens, catalog: CatalogStore(database: database.router),
            orders: orderService, carts: CartService(database: database.router, orders: orderService),
            administration: OrderAdministration(database: database.router), notifications: NotificationFeed(database: database.router),
            limiter: settings.rateLimits.isEmpty
                ? nil : RateLimiter(redis: redis, rules: settings.rateLimits, prefix: messaging.namespace, logger: logger),
            readiness: readiness, trustedProxies: settings.trustedProxies)
        var observability: [any Service] = []
        if let port = settings.observabilityPort {
            services.observabilityRoutes = false
            observability = [ObservabilityServer(host: settings.host, port: port, logger: logger, checks: readiness)]
        }
        let router = Gateway.router(services)
        let application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(settings.idleTimeout.timeInterval * 1e9)))),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: nil,
                availableConnectionsDelegate: .maximum(settings.maximumConnections, logger: logger)),
            onServerRunning: { channel in
                logger.info("api listening", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger)
        let admin: [any Service] = auth.admin.map {
            [AdminBootstrapService(service: authService, email: $0.email, password: $0.password, logger: logger)]
        } ?? []
        try await shutdown.group(database.services + [redis, kafka, amqp] + admin + observability + [application], logger: logger).run()
    }
}
