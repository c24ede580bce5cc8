public import AMQP
public import Foundation
public import Kafka
public import Logging
public import CoreMetrics
public import Messaging
public import Postgres
public import Redis
public import ServiceLifecycle

/// The transports the conformance suite runs against.
public enum TransportKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case kafka, amqp
    public var description: String { rawValue }
}

/// The body of the suite's messages.
public struct ConformanceEvent: MessagePayload, Hashable {
    public static let messageType = "conformance.event"
    public let sequence: Int

    public init(sequence: Int) {
        self.sequence = sequence
    }
}

/// Names and settings of one conformance run, shared by the tests and the worker process they
/// start (and kill): every test gets its own topic, queue, consumer name and effects table.
public struct ConformanceFixture: Sendable {
    public let kind: TransportKind
    public let id: String
    public let kafkaBootstrap: String

    public init(kind: TransportKind, id: String = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""), kafkaBootstrap: String = "") {
        self.kind = kind
        self.id = id
        self.kafkaBootstrap = kafkaBootstrap
    }

    public var consumerName: String { "conformance-\(kind)-\(id)" }
    public var effectsTable: String { "messaging_test.effects_\(id)" }
    public var topic: String { "conformance-\(id)" }
    public var queue: String { "conformance.\(id)" }

    /// Short levels, shared by every test (queue arguments cannot change once declared).
    public static let delays = try! AMQPDelays(
        levels: [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)],
        workExchange: "emporium.test.work", prefix: "emporium.test.delay")

    public static let logger: Logger = {
        var logger = Logger(label: "emporium.tests.messaging")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }()

    static let environment = ProcessInfo.processInfo.environment

    public static var postgres: PostgresConfiguration {
        get throws {
            var configuration = try PostgresConfiguration(
                url: environment["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium")
            configuration.maximumConnections = 8
            return configuration
        }
    }

    public static var redis: RedisConfiguration {
        get throws { try RedisConfiguration(url: environment["REDIS_URL"] ?? "redis://127.0.0.1:6379") }
    }

    public static var amqp: AMQPConfiguration {
        get throws {
            var configuration = try AMQPConfiguration(url: environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672")
            configuration.drainTimeout = .seconds(5)
            return configuration
        }
    }

    public var amqpSettings: AMQPMessageConsumerSettings {
        var settings = AMQPMessageConsumerSettings(queue: queue)
        settings.prefetch = 50
        settings.concurrency = 8
        return settings
    }

    public var kafkaSettings: KafkaMessageConsumerSettings {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [kafkaBootstrap], groupID: consumerName)
        configuration.sessionTimeout = .seconds(6)
        configuration.commitInterval = .milliseconds(200)
        var settings = KafkaMessageConsumerSettings(topics: [topic], kafka: configuration)
        settings.maximumConcurrentHandlers = 8
        return settings
    }

    /// Creates the effects table: one row per applied effect, deliberately without a unique key,
    /// so an effect applied twice shows as two rows.
    public func createEffectsTable(on pool: PostgresPool) async throws {
        do {
            try await pool.execute("CREATE SCHEMA IF NOT EXISTS messaging_test")
        } catch let error as PostgresError where error.isUniqueViolation {
            // Another test created it at the same moment.
        }
        try await pool.execute("CREATE TABLE \(unescaped: effectsTable) (position bigserial, message_id uuid NOT NULL, message_key text NOT NULL, sequence integer NOT NULL)")
    }

    public func dropEffectsTable(on pool: PostgresPool) async throws {
        try await pool.execute("DROP TABLE IF EXISTS \(unescaped: effectsTable)")
    }

    /// A handler that records its effect in the effects table, inside the inbox transaction.
    public func recordingHandler(
        delay: Duration = .zero, before: @escaping @Sendable (ConformanceEvent, MessageContext) async throws -> Void = { _, _ in }
    ) -> MessageHandlers {
        var handlers = MessageHandlers()
        let table = effectsTable
        handlers.on(ConformanceEvent.self) { event, context in
            try await before(event, context)
            if delay > .zero { try await Task.sleep(for: delay) }
            try await context.connection.execute("""
                INSERT INTO \(unescaped: table) (message_id, message_key, sequence)
                VALUES (\(context.envelope.idString)::uuid, \(context.envelope.key), \(event.sequence))
                """)
        }
        return handlers
    }

    public func processor(
        handlers: MessageHandlers, database: PostgresPool, redis: RedisPool?,
        retry: RetryPolicy = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(100)),
        metricsFactory: any MetricsFactory = MetricsSystem.factory, handlersActOnlyInTransaction: Bool = false
    ) -> MessageProcessor {
        MessageProcessor(
            settings: MessageConsumerSettings(
                name: consumerName, retry: retry, guardTimeToLive: .seconds(10), handlersActOnlyInTransaction: handlersActOnlyInTransaction),
            handlers: handlers, database: database, redis: redis, logger: Self.logger, metricsFactory: metricsFactory)
    }

    /// The consumer's services, in `ServiceGroup` order. Kafka: the consumer (the dead-letter
    /// producer is the caller's). AMQP: the consumer, then a connection of its own, listed last so
    /// that it is told to shut down first and drains the consumer's deliveries.
    public func consumerServices(
        processor: MessageProcessor, producer: KafkaProducer?, maximumConcurrentHandlers: Int? = nil, delays: AMQPDelays = Self.delays
    ) throws -> [any Service] {
        switch kind {
        case .kafka:
            guard let producer else { preconditionFailure("a Kafka consumer needs the dead-letter producer") }
            var settings = kafkaSettings
            if let maximumConcurrentHandlers { settings.maximumConcurrentHandlers = maximumConcurrentHandlers }
            return [KafkaMessageConsumer(settings: settings, processor: processor, deadLetterProducer: producer, logger: Self.logger)]
        case .amqp:
            let connection = try AMQPConnection(configuration: Self.amqp, logger: Self.logger)
            let consumer = AMQPMessageConsumer(
                settings: amqpSettings, processor: processor, connection: connection, delays: delays, logger: Self.logger)
            return [consumer, connection]
        }
    }

    /// The envelope of event number `sequence`.
    public func envelope(_ sequence: Int, key: String? = nil, id: UUID = UUID()) throws -> MessageEnvelope {
        try MessageEnvelope(ConformanceEvent(sequence: sequence), id: id, key: key ?? "key-\(sequence % 7)")
    }
}
