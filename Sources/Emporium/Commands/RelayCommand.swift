import DomainRuntime
import AMQP
import ArgumentParser
import Kafka
import Logging
import Messaging
import Observability
import Postgres
import ServiceLifecycle
import UnixSignals

/// `emporium relay`: publishes the transactional outbox to Kafka and RabbitMQ. Run any number.
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Publish the transactional outbox (any number of replicas)."
    )

    func run() async throws {
        let logger = Logger(label: "emporium.relay")
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let database = try DatabaseSettings(settings: environment)
        let messaging = try MessagingSettings(settings: environment)
        let shutdown = try ShutdownSettings(settings: environment)
        // First: what is created from here on records into the registry /metrics serves.
        _ = ProcessMetrics.registry

        let pool = PostgresPool(configuration: database.primary, logger: logger)
        let listener = try PostgresListener(configuration: database.primary, logger: logger)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers)
        producerConfiguration.linger = messaging.relayKafkaLinger
        let producer = try KafkaProducer.make(configuration: producerConfiguration, logger: logger)
        let amqp = try AMQPConnection(configuration: messaging.amqp, topology: messaging.delays.topology, logger: logger)
        let relay = OutboxRelay(
            settings: messaging.relay, database: pool, listener: listener, kafka: producer, amqp: amqp,
            delays: messaging.delays, logger: logger)
        let metrics = ObservabilityServer(
            host: messaging.metricsHost, port: messaging.metricsPort ?? 9400, logger: logger,
            checks: [
                ReadinessChecks.postgres(pool), ReadinessChecks.kafka(producer),
                ReadinessChecks.rabbitmq(amqp, workExchange: messaging.delays.workExchange),
            ])
        // Shut down in reverse order: stop serving, finish the batch, then drain the producers.
        let group = shutdown.group([pool, listener, producer, amqp, relay, metrics], logger: logger)
        logger.info("relay starting", metadata: [
            "postgres": "\(database.primary.address)", "kafka": "\(messaging.kafkaBootstrapServers.joined(separator: ","))",
            "amqp": "\(messaging.amqp.address)",
        ])
        try await group.run()
    }
}
