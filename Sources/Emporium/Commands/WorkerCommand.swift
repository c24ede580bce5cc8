import AMQP
import ArgumentParser
import DomainRuntime
import Kafka
import Logging
import Messaging
import Observability
import Postgres
import Redis
import ServiceLifecycle
import UnixSignals

/// `emporium worker <role>`: the message consumers, each scalable by replica count. The roles
/// are the domains' (``DomainModule/workers``).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker (any number of replicas of each).",
        discussion: "Roles:\n" + Domains.all.workers.map { "  \($0.name)\t\($0.abstract)" }.joined(separator: "\n")
    )

    @Argument(help: "The role: \(Domains.all.workers.map(\.name).joined(separator: ", ")).")
    var role: String?

    @Flag(help: "Print each role with its default metrics port (tab-separated), and exit.")
    var list = false

    func validate() throws {
        if list { return }
        guard let role else { throw ValidationError("name a role: \(Domains.all.workers.map(\.name).joined(separator: ", "))") }
        guard Domains.all.workers.contains(where: { $0.name == role }) else {
            throw ValidationError("no role \"\(role)\"; the roles: \(Domains.all.workers.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        if list {
            for worker in Domains.all.workers { print("\(worker.name)\t\(worker.metricsPort)") }
            return
        }
        guard let worker = Domains.all.workers.first(where: { $0.name == role }) else { return }
        let process = try WorkerProcess(name: worker.processName, defaultMetricsPort: worker.metricsPort)
        let plan = try await worker.plan(
            WorkerContext(settings: process.environment, database: process.database.primary, namespace: process.messaging.namespace, logger: process.logger))
        try await process.run(plan)
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
    /// The settings as read at start, for the role's own (``WorkerContext/settings``).
    let environment: SettingsReader

    init(name: String, defaultMetricsPort: Int) throws {
        logger = Logger(label: "emporium.\(name)")
        self.name = name
        environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let databases = try DatabaseSettings(settings: environment)
        messaging = try MessagingSettings(settings: environment)
        shutdown = try ShutdownSettings(settings: environment)
        self.defaultMetricsPort = defaultMetricsPort
        // First: what is created from here on records into the registry /metrics serves.
        _ = ProcessMetrics.registry
        database = Databases(databases, logger: logger)
        redis = RedisPool(configuration: messaging.redis, logger: logger)
        producer = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)
    }

    func processor(_ subscription: Subscription) -> MessageProcessor {
        MessageProcessor(
            settings: MessageConsumerSettings(
                name: name, retry: subscription.retry ?? messaging.retry, guardTimeToLive: messaging.guardTimeToLive,
                handlersActOnlyInTransaction: subscription.handlersActOnlyInTransaction),
            handlers: subscription.handlers, database: database.primary, redis: redis, logger: logger)
    }

    func kafkaConsumer(topics: [String], processor: MessageProcessor) throws -> KafkaMessageConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers, groupID: messaging.named(name))
        configuration.sessionTimeout = messaging.kafkaSessionTimeout
        configuration.fetchWaitMax = messaging.kafkaFetchWaitMax
        return KafkaMessageConsumer(
            settings: KafkaMessageConsumerSettings(topics: topics, kafka: configuration), processor: processor,
            deadLetterProducer: producer, logger: logger)
    }

    /// Runs a role's plan: a consumer per subscription (one processor each, all in the role's
    /// name: one inbox, one consumer group), then the plan's services, then the AMQP connection the
    /// queue consumers use.
    func run(_ plan: WorkerPlan) async throws {
        let kafka = plan.subscriptions.filter { if case .kafka = $0.source { true } else { false } }
        guard kafka.count <= 1 else {
            // Two subscriptions in one consumer group would each be handed the other's partitions.
            throw ConfigurationError(key: name, message: "one Kafka subscription per role (list every topic in it)")
        }
        var consumers: [any Service] = []
        let queues = plan.subscriptions.compactMap { subscription -> (QueueBinding, Subscription)? in
            if case .queue(let binding) = subscription.source { (binding, subscription) } else { nil }
        }
        var connection: AMQPConnection?
        if !queues.isEmpty || !plan.declaredQueues.isEmpty {
            var topology = AMQPTopology()
            for binding in plan.declaredQueues {
                let declared = AMQPMessageConsumer.topology(binding.consumerSettings(named: messaging.named), delays: messaging.delays)
                topology.exchanges += declared.exchanges
                topology.queues += declared.queues
                topology.bindings += declared.bindings
            }
            connection = try AMQPConnection(configuration: messaging.amqp, topology: topology, logger: logger)
        }
        for subscription in kafka {
            guard case .kafka(let topics) = subscription.source else { continue }
            consumers.append(try kafkaConsumer(topics: topics, processor: processor(subscription)))
        }
        for (binding, subscription) in queues {
            guard let connection else { continue }
            consumers.append(AMQPMessageConsumer(
                settings: binding.consumerSettings(named: messaging.named), processor: processor(subscription), connection: connection,
                delays: messaging.delays, logger: logger))
        }
        try await run(consumers + plan.services + (connection.map { [$0] } ?? []))
    }

    /// Runs `services` (consumers, then the AMQP connection they use) until SIGTERM or SIGINT. A
    /// group stops in reverse order: the AMQP connection drains first, which ends its consumers'
    /// deliveries; the database, Redis and the dead-letter producer outlive every consumer. The
    /// process's inbox rows are pruned after `MESSAGING_INBOX_RETENTION`.
    func run(_ consumers: [any Service]) async throws {
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
