import AMQP
import ArgumentParser
import Auth
import Catalog
import Contracts
import Kafka
import Logging
import Mailing
import Messaging
import Observability
import Ordering
import Postgres
import Redis
import SMTP
import ServiceLifecycle
import UnixSignals

/// `emporium worker <role>`: the message consumers, each scalable by replica count.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker (any number of replicas of each).",
        subcommands: [AuthWorkerCommand.self, ProductWorkerCommand.self, OrderWorkerCommand.self, MailWorkerCommand.self]
    )
}

/// `emporium worker auth`: verification codes for registrations and resends, their expiry, and
/// the purge of accounts never verified.
struct AuthWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "Mail verification codes and expire them; purge unverified accounts (Kafka: user; RabbitMQ: code expiry).")

    func run() async throws {
        let worker = try WorkerProcess(name: "worker-auth", defaultMetricsPort: 9401)
        let auth = try AuthSettings(environment: worker.environment, namespace: worker.messaging.namespace)
        let processor = worker.processor(AccountLifecycle.handlers(policy: auth.policy))
        let kafka = try worker.kafkaConsumer(topics: [Destinations.userTopic], processor: processor)
        let settings = AMQPMessageConsumerSettings(queue: worker.messaging.named("auth"), routingKeys: [Destinations.codeExpiryKey])
        let connection = try AMQPConnection(configuration: worker.messaging.amqp, logger: worker.logger)
        let expiries = AMQPMessageConsumer(
            settings: settings, processor: processor, connection: connection, delays: worker.messaging.delays, logger: worker.logger)
        let purge = AccountPurge(database: worker.database.primary, policy: auth.policy, interval: auth.purgeInterval, logger: worker.logger)
        try await worker.run(kafka, expiries, purge, connection)
    }
}

/// `emporium worker mail`: renders and sends `mail.send` commands over SMTP, with retries
/// through the delay queues; keeps the copy of customers' addresses (user topic) and the
/// customers' notification feed (every mail, and each order status change from the order topic).
struct MailWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "Send mails over SMTP (RabbitMQ: mail.send) and keep the notification feed (Kafka: user, order).")

    func run() async throws {
        let worker = try WorkerProcess(name: "worker-mail", defaultMetricsPort: 9404)
        let mail = try MailSettings(environment: worker.environment)
        let delivery = try MailDelivery(
            sender: SMTPClient(configuration: mail.smtp, logger: worker.logger), database: worker.database.primary, retry: mail.retry)
        let events = try worker.kafkaConsumer(topics: [Destinations.userTopic, Destinations.orderTopic], handlers: MailDelivery.eventHandlers)
        var settings = AMQPMessageConsumerSettings(queue: worker.messaging.named("mail"), routingKeys: [Destinations.mailKey])
        // Each send holds two pooled connections (the inbox transaction, and the state written
        // apart from it): keep 2 x this under POSTGRES_POOL_SIZE.
        settings.concurrency = 3
        let connection = try AMQPConnection(configuration: worker.messaging.amqp, logger: worker.logger)
        let processor = MessageProcessor(
            settings: MessageConsumerSettings(name: worker.name, retry: mail.retry, guardTimeToLive: worker.messaging.guardTimeToLive),
            handlers: delivery.commandHandlers, database: worker.database.primary, redis: worker.redis, logger: worker.logger)
        let commands = AMQPMessageConsumer(
            settings: settings, processor: processor, connection: connection, delays: worker.messaging.delays, logger: worker.logger)
        let records = RetentionPurge(database: worker.database.primary, rows: .mails, retention: mail.retention, logger: worker.logger)
        worker.logger.info("sending mail through \(mail.smtp.server)")
        try await worker.run(events, commands, records, connection)
    }
}

/// `emporium worker product`: reserves, releases and sells stock from the order topic.
struct ProductWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "product", abstract: "Reserve and release stock for orders (Kafka: order).")

    func run() async throws {
        let worker = try WorkerProcess(name: "worker-product", defaultMetricsPort: 9402)
        let consumer = try worker.kafkaConsumer(topics: [Destinations.orderTopic], handlers: StockReservations.handlers())
        try await worker.run(consumer)
    }
}

/// `emporium worker order`: the catalog copy, stock decisions, reminders and expiry.
struct OrderWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order",
        abstract: "Keep the catalog copy and move orders along (Kafka: product, order; RabbitMQ: reminders, expiry).")

    func run() async throws {
        let worker = try WorkerProcess(name: "worker-order", defaultMetricsPort: 9403)
        let orders = try OrderSettings(environment: worker.environment)
        let processor = worker.processor(OrderLifecycle.handlers(timings: orders.timings))
        let kafka = try worker.kafkaConsumer(topics: [Destinations.productTopic, Destinations.orderTopic], processor: processor)
        // The mail worker's queue is declared here too, so mail commands have somewhere to wait
        // (an unroutable publish is retried by the relay) until a mail worker consumes them.
        let mailQueue = AMQPMessageConsumer.topology(
            AMQPMessageConsumerSettings(queue: worker.messaging.named("mail"), routingKeys: [Destinations.mailKey]),
            delays: worker.messaging.delays)
        let connection = try AMQPConnection(configuration: worker.messaging.amqp, topology: mailQueue, logger: worker.logger)
        var settings = AMQPMessageConsumerSettings(
            queue: worker.messaging.named("order"), routingKeys: [Destinations.paymentReminderKey, Destinations.expiryKey])
        settings.concurrency = 8
        let timers = AMQPMessageConsumer(
            settings: settings, processor: processor, connection: connection, delays: worker.messaging.delays, logger: worker.logger)
        let carts = CartPurge(database: worker.database.primary, lifetime: orders.cartLifetime, interval: .seconds(60), logger: worker.logger)
        let keys = RetentionPurge(database: worker.database.primary, rows: .idempotencyKeys, retention: orders.idempotencyRetention, logger: worker.logger)
        let backlog = DecisionBacklog(database: worker.database.primary, logger: worker.logger)
        try await worker.run(kafka, timers, carts, keys, backlog, connection)
    }
}

/// What every worker process has: settings, the database, Redis, the dead-letter producer and
/// the metrics endpoint.
struct WorkerProcess {
    let name: String
    let logger: Logger
    let messaging: MessagingSettings
    let database: Databases
    let redis: RedisPool
    let producer: KafkaProducer
    let shutdown: ShutdownSettings
    let defaultMetricsPort: Int
    /// The settings as read at start, for the role's own (``AuthSettings``, ``OrderSettings``, ...).
    let environment: Environment

    init(name: String, defaultMetricsPort: Int) throws {
        logger = Logger(label: "emporium.\(name)")
        self.name = name
        environment = try Environment()
        try environment.refusePlaceholderSecrets()
        let databases = try DatabaseSettings(environment: environment)
        messaging = try MessagingSettings(environment: environment)
        shutdown = try ShutdownSettings(environment: environment)
        self.defaultMetricsPort = defaultMetricsPort
        // First: what is created from here on records into the registry /metrics serves.
        _ = ProcessMetrics.registry
        database = Databases(databases, logger: logger)
        redis = RedisPool(configuration: messaging.redis, logger: logger)
        producer = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)
    }

    func processor(_ handlers: MessageHandlers) -> MessageProcessor {
        MessageProcessor(
            settings: MessageConsumerSettings(name: name, retry: messaging.retry, guardTimeToLive: messaging.guardTimeToLive),
            handlers: handlers, database: database.primary, redis: redis, logger: logger)
    }

    func kafkaConsumer(topics: [String], handlers: MessageHandlers) throws -> KafkaMessageConsumer {
        try kafkaConsumer(topics: topics, processor: processor(handlers))
    }

    func kafkaConsumer(topics: [String], processor: MessageProcessor) throws -> KafkaMessageConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers, groupID: messaging.named(name))
        configuration.sessionTimeout = messaging.kafkaSessionTimeout
        configuration.fetchWaitMax = messaging.kafkaFetchWaitMax
        return KafkaMessageConsumer(
            settings: KafkaMessageConsumerSettings(topics: topics, kafka: configuration), processor: processor,
            deadLetterProducer: producer, logger: logger)
    }

    /// Runs `services` (consumers, then the AMQP connection they use) until SIGTERM or SIGINT. A
    /// group stops in reverse order: the AMQP connection drains first, which ends its consumers'
    /// deliveries; the database, Redis and the dead-letter producer outlive every consumer. The
    /// process's inbox rows are pruned after `MESSAGING_INBOX_RETENTION`.
    func run(_ consumers: any Service...) async throws {
        let metrics = ObservabilityServer(
            host: messaging.metricsHost, port: messaging.metricsPort ?? defaultMetricsPort, logger: logger, checks: readinessChecks(consumers))
        let inbox = RetentionPurge(database: database.primary, rows: .inbox(consumer: name), retention: messaging.inboxRetention, logger: logger)
        let services: [any Service] = database.services + [redis, producer] + consumers + [inbox, metrics]
        logger.info("\(name) starting", metadata: ["kafka": "\(messaging.kafkaBootstrapServers.joined(separator: ","))"])
        try await shutdown.group(services, logger: logger).run()
    }

    /// The database, Redis, and each Kafka consumer and AMQP connection among `services`.
    private func readinessChecks(_ services: [any Service]) -> [HealthCheck] {
        var checks = [ReadinessChecks.postgres(database.primary), ReadinessChecks.redis(redis)]
        for service in services {
            if let consumer = service as? KafkaMessageConsumer { checks.append(ReadinessChecks.consumer(consumer)) }
            if let connection = service as? AMQPConnection {
                checks.append(ReadinessChecks.rabbitmq(connection, workExchange: messaging.delays.workExchange))
            }
        }
        return checks
    }
}
