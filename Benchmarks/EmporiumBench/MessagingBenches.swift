import ArgumentParser
import ConnectionPool
import Foundation
import Kafka
import Logging
import Messaging
import Postgres
import Redis
import ServiceLifecycle

private struct BenchEvent: MessagePayload {
    static let messageType = "bench.event"
    let sequence: Int
    let padding: String
}

private func benchEnvelope(_ sequence: Int) throws -> MessageEnvelope {
    // About 200 B of JSON, like the Kafka benchmarks' messages.
    try MessageEnvelope(BenchEvent(sequence: sequence, padding: String(repeating: "x", count: 170)), key: "key-\(sequence)")
}

private func database() throws -> PostgresPool {
    var configuration = try PostgresConfiguration(
        url: ProcessInfo.processInfo.environment["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium")
    configuration.maximumConnections = 16
    return PostgresPool(configuration: configuration, logger: quietLogger)
}

/// Outbox rows to acknowledged Kafka messages: fills an outbox table of its own with `messages`
/// rows (not timed), then times one relay publishing all of them. `--fill-only` leaves the filled
/// table for the reference (``RelaySQLBench``'s script in pgbench).
struct RelayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay")
    static let table = "bench.relay_outbox"
    @Option var bootstrap: String?
    @Option var topic: String
    @Option var messages = 100_000
    @Flag(help: "Fill the table and stop.") var fillOnly = false
    @Flag(help: "Relay the rows a --fill-only run left (to profile the relay alone).") var filled = false
    @Option(help: "Batches in flight (the relay's setting).") var concurrency = OutboxRelaySettings().concurrency
    @Option(help: "Rows per batch (the relay's setting).") var batch = OutboxRelaySettings().batchSize

    func run() async throws {
        let pool = try database()
        defer { pool.close() }
        let table = Self.table
        if !filled {
            try await pool.execute("DROP TABLE IF EXISTS \(unescaped: table)")
            try await pool.execute("CREATE TABLE \(unescaped: table) (LIKE messaging.outbox INCLUDING ALL)")
            for start in stride(from: 0, to: messages, by: 1000) {
                let rows = try (start..<min(start + 1000, messages)).map { OutboxMessage(try benchEnvelope($0), to: .kafka(topic)) }
                try await pool.withTransaction { try await Outbox.append(rows, on: $0, table: table) }
            }
            try await pool.execute("ANALYZE \(unescaped: table)")
        }
        if fillOnly { return }
        guard let bootstrap else { throw ValidationError("--bootstrap is needed unless --fill-only") }
        // The producer as `emporium relay` configures it by default.
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        producerConfiguration.linger = OutboxRelaySettings.defaultKafkaLinger
        let producer = try KafkaProducer.make(configuration: producerConfiguration, logger: quietLogger)
        var settings = OutboxRelaySettings()
        settings.table = table
        settings.pollInterval = .milliseconds(20)
        settings.concurrency = concurrency
        settings.batchSize = batch
        let relay = OutboxRelay(
            settings: settings, database: pool, listener: nil, kafka: producer, amqp: nil, delays: nil, logger: quietLogger)
        // Warm up: the producer connects to every broker and the pool opens the connections the
        // relay's loops will use before the clock starts (pgbench's rate leaves out its connecting).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<(concurrency + 2) { group.addTask { try await pool.execute("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }
        try await withRunning([producer], logger: quietLogger) {
            _ = try await producer.send([KafkaOutgoingMessage(topic: topic, key: "warm-up", value: "{}")])
            let started = ContinuousClock.now
            let elapsed = try await withRunning([relay], logger: quietLogger) {
                // One probe of the unsent rows' index per poll (a count of them would scan what is
                // left every time, on the cores the relay and Postgres need).
                while try await !pool.query("SELECT 1 FROM \(unescaped: table) WHERE sent_at IS NULL LIMIT 1").isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
                return ContinuousClock.now - started
            }
            report(name: "outbox relay to kafka", value: Double(messages) / elapsed.seconds, unit: "msg/s")
        }
        try await pool.execute("DROP TABLE \(unescaped: table)")
    }
}

/// The relay's ceiling in Postgres: prints a pgbench script that runs, per transaction, the relay's
/// own claim statement and its mark-sent statement for the claimed ids, at the relay's batch size
/// (no broker), in a transaction committed as the relay commits its own. pgbench keeps one row per
/// `\gset`, so the claimed rows come back as one value carrying the same bytes the relay reads.
struct RelaySQLBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay-sql")
    @Option var batch = OutboxRelaySettings().batchSize

    func run() throws {
        func line(_ sql: String) -> String { sql.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ") }
        let claim = line(OutboxRelay.claimQuery(limit: batch, table: RelayBench.table).sql)
        let markSent = line(OutboxRelay.markSentQuery([0], table: RelayBench.table).sql).replacingOccurrences(of: "$1", with: ":ids")
        // The relay's transaction commits without waiting for the flush (`relayBatch`), so this one does too.
        print("BEGIN;")
        print("SET LOCAL synchronous_commit = off;")
        print("SELECT coalesce(quote_literal(array_agg(r.id)::text), '''{}''') AS ids, sum(octet_length(r::text)) AS bytes FROM (\(claim)) r \\gset")
        print(markSent + ";")
        print("COMMIT;")
    }
}

/// The Kafka consumer of the messaging runtime, each message's effect an insert in the handler's
/// transaction; with the inbox (a row per message in the same transaction) or without. Steady
/// state: the consumer joins, and the messages are sent only once its partitions are past the
/// guard's time to live (5 s here), after which the Redis guard is no longer needed (see
/// `MessageProcessor.process`). Timed from the first handled message to the last.
struct ConsumerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consumer")
    @Option var bootstrap: String
    @Option var topic: String
    @Option var messages = 20_000
    @Flag(inversion: .prefixedNo) var inbox = true
    @Flag(inversion: .prefixedNo, help: "The Redis guard (with the inbox only).") var redisGuard = true

    func run() async throws {
        let pool = try database()
        let redis = RedisPool(
            configuration: try RedisConfiguration(url: ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"),
            logger: quietLogger)
        try await pool.execute("CREATE TABLE IF NOT EXISTS bench.consumer_effects (message_id uuid NOT NULL, sequence integer NOT NULL)")
        let producer = try KafkaProducer.make(configuration: KafkaProducerConfiguration(bootstrapServers: [bootstrap]), logger: quietLogger)
        let handled = AtomicCounter()
        let clock = BenchClock()
        var handlers = MessageHandlers()
        handlers.on(BenchEvent.self) { event, context in
            try await context.connection.execute("""
                INSERT INTO bench.consumer_effects (message_id, sequence) VALUES (\(context.envelope.idString)::uuid, \(event.sequence))
                """)
            clock.mark(handled.adding(1))
        }
        let name = "bench-\(inbox ? "inbox" : "plain")-\(UUID().uuidString.prefix(8))"
        let processor = MessageProcessor(
            settings: MessageConsumerSettings(name: name, guardTimeToLive: redisGuard ? .seconds(5) : nil, usesInbox: inbox),
            handlers: handlers, database: pool, redis: redis, logger: quietLogger)
        var kafka = KafkaConsumerConfiguration(bootstrapServers: [bootstrap], groupID: name)
        kafka.sessionTimeout = .seconds(6)
        var settings = KafkaMessageConsumerSettings(topics: [topic], kafka: kafka)
        settings.maximumConcurrentHandlers = 16
        let consumer = KafkaMessageConsumer(settings: settings, processor: processor, deadLetterProducer: producer, logger: quietLogger)
        let total = messages
        try await withRunning([producer], logger: quietLogger) {
            try await withRunning([consumer], logger: quietLogger) {
                try await Task.sleep(for: .seconds(12))
                for start in stride(from: 0, to: total, by: 5000) {
                    _ = try await producer.send(try (start..<min(start + 5000, total)).map { try benchEnvelope($0).kafkaMessage(topic: topic) })
                }
                while handled.value < total { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
        report(name: "messaging consumer \(inbox ? "with" : "without") inbox\(inbox && !redisGuard ? ", no guard" : "")", value: Double(total - 1) / clock.elapsed.seconds, unit: "msg/s")
        try await pool.execute("DELETE FROM messaging.inbox WHERE consumer = \(name)")
        pool.close()
        redis.close()
    }
}

/// The times of the first and the last handled message.
private final class BenchClock: Sendable {
    private let first = AtomicCounter()
    private let last = AtomicCounter()
    private let origin = ContinuousClock.now

    func mark(_ count: Int) {
        let nanoseconds = Int((ContinuousClock.now - origin).seconds * 1e9)
        if count == 1 { first.add(nanoseconds) }
        last.add(nanoseconds - last.value)
    }

    var elapsed: Duration { .nanoseconds(last.value - first.value) }
}
