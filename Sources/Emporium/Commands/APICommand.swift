import AMQP
import ArgumentParser
import Auth
import DomainRuntime
import Gateway
import Hummingbird
import Kafka
import Logging
import Observability
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
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let settings = try APISettings(settings: environment)
        let databases = try DatabaseSettings(settings: environment)
        let messaging = try MessagingSettings(settings: environment)
        let tokenSettings = try AuthSettings.tokens(settings: environment)
        let shutdown = try ShutdownSettings(settings: environment)
        _ = ProcessMetrics.registry

        let database = Databases(databases, logger: logger)
        let redis = RedisPool(configuration: messaging.redis, logger: logger)
        // Only for /health/ready: the API itself writes to the outbox, never to a broker.
        let amqp = try AMQPConnection(
            configuration: messaging.amqp, topology: ReadinessChecks.workTopology(messaging.delays.workExchange), logger: logger)
        let kafka = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)

        // Every domain's part of the API (``DomainModule/api``).
        let context = APIContext(settings: environment, database: database.router, redis: redis, namespace: messaging.namespace, logger: logger)
        let domains = try await Domains.all.api(context)
        let readiness = [
            ReadinessChecks.postgres(database.primary), ReadinessChecks.redis(redis),
            ReadinessChecks.rabbitmq(amqp, workExchange: messaging.delays.workExchange), ReadinessChecks.kafka(kafka),
        ]
        var services = Gateway.Services(
            routes: domains.routes, tokens: await AccessTokens(settings: tokenSettings),
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
        try await shutdown.group(
            database.services + [redis, kafka, amqp] + domains.services + observability + [application], logger: logger
        ).run()
    }
}
