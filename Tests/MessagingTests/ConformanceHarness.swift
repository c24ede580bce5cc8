import AMQP
import EmporiumTestSupport
import Foundation
import Kafka
import Logging
import Messaging
import MessagingConformance
import Postgres
import Redis
import MetricsTestKit
import ServiceLifecycle
import Synchronization

/// Everything one conformance test needs around the consumer under test: its own Kafka mock
/// cluster and topics (Kafka; in interop mode, topics of its own on the external broker) or
/// queues (AMQP), a publisher, the database and Redis, and the fixture's effects table. Built by
/// ``withHarness(_:_:)``, which also cleans up.
final class ConformanceHarness: Sendable {
    let fixture: ConformanceFixture
    let database: PostgresPool
    let redis: RedisPool
    let cluster: KafkaMockCluster?
    let producer: KafkaProducer?
    let publisher: AMQPConnection?
    /// The consumers' metrics: how many deliveries were handled, duplicates, retried...
    let metrics = TestMetrics()

    var kind: TransportKind { fixture.kind }

    init(kind: TransportKind, partitions: Int = 4) throws {
        let logger = ConformanceFixture.logger
        database = PostgresPool(configuration: try ConformanceFixture.postgres, logger: logger)
        redis = RedisPool(configuration: try ConformanceFixture.redis, logger: logger)
        switch kind {
        case .kafka:
            if let external = InteropKafka.bootstrapServers {
                // The topics are created in `withHarness` (CreateTopics is asynchronous).
                fixture = ConformanceFixture(kind: kind, kafkaBootstrap: external)
                cluster = nil
            } else {
                let cluster = try KafkaMockCluster.make(brokers: 3, logger: logger)
                fixture = ConformanceFixture(kind: kind, kafkaBootstrap: cluster.bootstrapServers)
                try cluster.createTopic(fixture.topic, partitions: partitions)
                try cluster.createTopic(fixture.topic + ".dlq", partitions: 2)
                self.cluster = cluster
            }
            producer = try KafkaProducer.make(configuration: KafkaProducerConfiguration(bootstrapServers: [fixture.kafkaBootstrap]), logger: logger)
            publisher = nil
        case .amqp:
            fixture = ConformanceFixture(kind: kind)
            cluster = nil
            producer = nil
            publisher = try AMQPConnection(
                configuration: try ConformanceFixture.amqp,
                topology: AMQPMessageConsumer.topology(fixture.amqpSettings, delays: ConformanceFixture.delays), logger: logger)
        }
    }

    /// On an external broker (interop mode), the test's topic and dead-letter topic, as the mock
    /// cluster gets them in `init`.
    func createTopicsOnExternalBroker(partitions: Int) async throws {
        guard kind == .kafka, cluster == nil, let producer else { return }
        _ = try await producer.createTopics([
            KafkaNewTopic(name: fixture.topic, partitions: partitions, replicationFactor: 1),
            KafkaNewTopic(name: fixture.topic + ".dlq", partitions: 2, replicationFactor: 1),
        ], timeout: .seconds(15))
    }

    /// Services that live as long as the harness.
    var services: [any Service] { [producer as (any Service)?, publisher].compactMap { $0 } }

    /// Where the consumer under test reads: for the outbox.
    var destination: MessageDestination {
        kind == .kafka ? .kafka(fixture.topic) : .amqp(fixture.queue)
    }

    // MARK: - Publishing

    /// Publishes straight to the consumer's topic or queue, as another service's relay would.
    func publish(_ envelopes: [MessageEnvelope]) async throws {
        switch kind {
        case .kafka:
            try await producer!.send(envelopes.map { $0.kafkaMessage(topic: fixture.topic) })
        case .amqp:
            try await publisher!.publish(envelopes.map {
                $0.amqpMessage(exchange: ConformanceFixture.delays.workExchange, routingKey: fixture.queue)
            })
        }
    }

    /// A message with an id but no type: poison.
    func publishWithoutType() async throws {
        let id = UUID().uuidString.lowercased()
        switch kind {
        case .kafka:
            try await producer!.send(KafkaOutgoingMessage(
                topic: fixture.topic, key: "typeless", value: "{}", headers: [KafkaHeader(name: EnvelopeHeader.messageID, value: id)]))
        case .amqp:
            try await publisher!.publish(AMQPOutgoingMessage(
                exchange: ConformanceFixture.delays.workExchange, routingKey: fixture.queue, body: Array("{}".utf8), messageID: id))
        }
    }

    // MARK: - Consuming

    /// Starts the fixture's consumer in a process of its own (`MessagingConformanceWorker`),
    /// recording each effect after `handlerDelay`.
    func startWorker(handlerDelay: Duration) throws -> ChildProcess {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/MessagingConformanceWorker").path
        return try ChildProcess([
            binary, kind.rawValue, fixture.id, kind == .kafka ? fixture.kafkaBootstrap : "-",
            String(handlerDelay.wholeMilliseconds),
        ])
    }

    func processor(
        _ handlers: MessageHandlers, retry: RetryPolicy = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(100), maximumDelay: .milliseconds(400)),
        database: PostgresPool? = nil, handlersActOnlyInTransaction: Bool = false
    ) -> MessageProcessor {
        fixture.processor(
            handlers: handlers, database: database ?? self.database, redis: redis, retry: retry, metricsFactory: metrics,
            handlersActOnlyInTransaction: handlersActOnlyInTransaction)
    }

    /// Runs a consumer with `handlers` while `body` runs, then shuts it down gracefully.
    func withConsumer<R: Sendable>(
        _ handlers: MessageHandlers, retry: RetryPolicy? = nil, maximumConcurrentHandlers: Int? = nil, database: PostgresPool? = nil,
        delays: AMQPDelays = ConformanceFixture.delays, _ body: () async throws -> R
    ) async throws -> R {
        let processor = retry.map { self.processor(handlers, retry: $0, database: database) } ?? self.processor(handlers, database: database)
        let services = try fixture.consumerServices(
            processor: processor, producer: producer, maximumConcurrentHandlers: maximumConcurrentHandlers, delays: delays)
        return try await withRunning(services, logger: ConformanceFixture.logger, body)
    }

    // MARK: - Observing

    /// Effects applied: rows in the effects table, and distinct messages among them.
    func effects() async throws -> (rows: Int, distinct: Int) {
        let row = try await database.query("""
            SELECT count(*)::bigint AS total, count(DISTINCT message_id)::bigint AS distinct_messages FROM \(unescaped: fixture.effectsTable)
            """).single()
        return (Int(try row.decode("total", as: Int64.self)), Int(try row.decode("distinct_messages", as: Int64.self)))
    }

    /// Waits until `count` distinct messages had their effect.
    func waitForEffects(_ count: Int, timeout: Duration = .seconds(60)) async throws -> Bool {
        try await eventually(timeout: timeout, every: .milliseconds(50)) { try await self.effects().distinct >= count }
    }

    func inboxCount() async throws -> Int {
        Int(try await database.query("SELECT count(*)::bigint AS n FROM messaging.inbox WHERE consumer = \(fixture.consumerName)")
            .single().decode("n", as: Int64.self))
    }

    // MARK: - Dead letters

    func deadLetters() async throws -> [DeadLetter] {
        switch kind {
        case .kafka:
            return try await KafkaDeadLetters(
                topic: fixture.topic + ".dlq", bootstrapServers: [fixture.kafkaBootstrap], producer: producer!,
                logger: ConformanceFixture.logger
            ).read().map(\.letter)
        case .amqp:
            return try await withDeadLetterQueue { try await $0.read() }
        }
    }

    func replay(_ options: ReplayOptions = ReplayOptions()) async throws -> (ReplayProgress, [DeadLetter]) {
        let audited = LockedBox<[DeadLetter]>([])
        let progress: ReplayProgress
        switch kind {
        case .kafka:
            progress = try await KafkaDeadLetters(
                topic: fixture.topic + ".dlq", bootstrapServers: [fixture.kafkaBootstrap], producer: producer!,
                logger: ConformanceFixture.logger
            ).replay(options, progress: { _ in }, audit: { letter in audited.mutate { $0.append(letter) } })
        case .amqp:
            progress = try await withDeadLetterQueue {
                try await $0.replay(options, progress: { _ in }, audit: { letter in audited.mutate { $0.append(letter) } })
            }
        }
        return (progress, audited.value)
    }

    /// Dead-letter queue access on a connection of its own, closed afterwards (unsettled
    /// deliveries return to the queue then).
    private func withDeadLetterQueue<R: Sendable>(_ body: (AMQPDeadLetters) async throws -> R) async throws -> R {
        try await AMQPDeadLetters.withQueue(
            fixture.amqpSettings.deadLetterQueue, configuration: try ConformanceFixture.amqp,
            workExchange: ConformanceFixture.delays.workExchange, logger: ConformanceFixture.logger, body)
    }

    /// How many messages the consumer counted with `outcome` (handled, duplicate, retried, ...).
    func outcomes(_ outcome: String) -> Int64 {
        (try? metrics.expectCounter("messaging_messages_total", [
            ("consumer", fixture.consumerName), ("type", ConformanceEvent.messageType), ("outcome", outcome),
        ]).totalValue) ?? 0
    }

    // MARK: - Clean-up

    /// Deletes the consumer's queues; needs the publisher running, so before the harness's
    /// services stop.
    func deleteQueues() async {
        guard kind == .amqp, let publisher else { return }
        for queue in [fixture.queue, fixture.amqpSettings.deadLetterQueue] { try? await publisher.deleteQueue(queue) }
    }

    func tearDown() async {
        _ = try? await fixture.dropEffectsTable(on: database)
        _ = try? await database.execute("DELETE FROM messaging.inbox WHERE consumer = \(fixture.consumerName)")
        database.close()
        redis.close()
    }
}

/// The database as the migrations leave it.
enum TestDatabase {
    static func migrate(_ pool: PostgresPool) async throws {
        let migrations = try PostgresMigration.load(from: repositoryRoot.appendingPathComponent("migrations").path)
        _ = try await PostgresMigrator(pool: pool, logger: ConformanceFixture.logger).migrate(migrations)
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Builds a harness, runs its services while `body` runs, and cleans up.
func withHarness<R: Sendable>(
    _ kind: TransportKind, partitions: Int = 4, _ body: (ConformanceHarness) async throws -> R
) async throws -> R {
    let harness = try ConformanceHarness(kind: kind, partitions: partitions)
    try await harness.createTopicsOnExternalBroker(partitions: partitions)
    try await TestDatabase.migrate(harness.database)
    try await harness.fixture.createEffectsTable(on: harness.database)
    do {
        let result = try await withRunning(harness.services, logger: ConformanceFixture.logger) {
            do {
                let result = try await body(harness)
                await harness.deleteQueues()
                return result
            } catch {
                await harness.deleteQueues()
                throw error
            }
        }
        await harness.tearDown()
        return result
    } catch {
        await harness.tearDown()
        throw error
    }
}

/// A value shared with `@Sendable` closures in a test.
final class LockedBox<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func mutate<R>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
}
