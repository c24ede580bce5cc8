import ConnectionPool
import Foundation
public import Kafka
public import Logging
public import ServiceLifecycle
import Synchronization

/// Settings of a Kafka consumer of the messaging runtime.
public struct KafkaMessageConsumerSettings: Sendable {
    public var topics: [String]
    /// The consumer group (normally the consumer's name).
    public var kafka: KafkaConsumerConfiguration
    /// Messages taken from Kafka and not yet finished, at most; past it fetching waits.
    public var maximumInFlight = 2_000
    /// Handlers running at once (each holds a database connection while it runs).
    public var maximumConcurrentHandlers = 16
    /// How often consumer lag is measured for the metrics.
    public var lagInterval: Duration = .seconds(10)

    public init(topics: [String], kafka: KafkaConsumerConfiguration) {
        self.topics = topics
        self.kafka = kafka
    }
}

/// Consumes Kafka topics through a ``MessageProcessor``: partitions concurrently, keys in order,
/// offsets committed only after the handler's transaction committed (or the message was
/// dead-lettered).
///
/// Retries: a transient failure is retried in place, in the message's key lane, with the
/// processor's backoff. Only that key waits; other keys of the same partition go on, and the
/// partition's committed offset stops below the waiting message, so a crash during the backoff
/// sees it again (the inbox drops what was already handled). We chose this over retry topics,
/// which would let the next message of the same key overtake the failing one (order per key is a
/// promise of the brief), and over pausing the partition, which would hold up every other key in
/// it. The price: attempt counts live in memory (a crash restarts them), and a long backoff keeps
/// the partition's commit point back, bounded by `maximumInFlight` and the retry policy's delays.
///
/// A poison message, a permanent failure or the last failed attempt goes to `<topic>.dlq` with the
/// original key, value and headers, plus the error, attempts, origin, consumer and failure times;
/// its offset is committed only once the dead-letter topic acknowledged it.
///
/// Graceful shutdown: stop fetching, let running handlers finish (a backoff is cut short: that
/// message is left to the next owner), commit, leave the group.
public final class KafkaMessageConsumer: Service, Sendable {
    let settings: KafkaMessageConsumerSettings
    let processor: MessageProcessor
    let producer: KafkaProducer
    let logger: Logger
    private let lanes = Mutex(KafkaLanes())
    /// The consumer while ``run()`` runs, for the readiness check.
    private let running = Mutex<KafkaConsumer?>(nil)

    public init(settings: KafkaMessageConsumerSettings, processor: MessageProcessor, deadLetterProducer: KafkaProducer, logger: Logger) {
        var settings = settings
        settings.kafka.stopsOnGracefulShutdown = false
        self.settings = settings
        self.processor = processor
        self.producer = deadLetterProducer
        self.logger = logger
    }

    public static let deadLetterSuffix = ".dlq"

    /// The topics this consumer reads.
    public var topics: [String] { settings.topics }

    /// For `/health/ready`: throws unless the consumer is subscribed, a member of its group (it
    /// has had its first assignment), and a broker answers a metadata request within `timeout`.
    public func checkReady(timeout: Duration) async throws {
        guard let consumer = running.withLock({ $0 }) else {
            throw MessagingError(.transient, "not subscribed to \(settings.topics.joined(separator: ", ")) yet")
        }
        guard consumer.hasJoinedGroup else {
            throw MessagingError(.transient, "waiting for group \(settings.kafka.groupID)'s assignment")
        }
        try await consumer.checkBrokers(timeout: timeout)
    }

    public func run() async throws {
        let consumer = try await KafkaConsumer.make(configuration: settings.kafka, topics: settings.topics, logger: logger)
        running.withLock { $0 = consumer }
        defer { running.withLock { $0 = nil } }
        let inFlight = AsyncSemaphore(permits: settings.maximumInFlight)
        let handlers = AsyncSemaphore(permits: settings.maximumConcurrentHandlers)
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await consumer.run() }
            services.addTask { await self.reportLag(consumer) }
            var failure: (any Error)?
            // Discarding: a lane's task is freed when it ends. A plain task group keeps every
            // finished child until someone awaits it (here, only at shutdown): each worker grew by
            // about 2 MiB a second under load, every lane's task kept for good.
            await withDiscardingTaskGroup { workers in
                await withGracefulShutdownHandler {
                    do {
                        dispatch: for try await message in consumer.messages {
                            await inFlight.acquire()
                            // After shutdown began (the stream still hands out what it had
                            // buffered), lanes take nothing more: no message can overtake one of
                            // its key that was left in backoff for the next owner.
                            switch self.lanes.withLock({ $0.arrive(message) }) {
                            case .opened:
                                workers.addTask {
                                    await self.work(lane: message, consumer: consumer, handlers: handlers, inFlight: inFlight)
                                }
                            case .queued:
                                break
                            case .refused:
                                inFlight.release()
                                break dispatch
                            }
                        }
                    } catch {
                        failure = error
                    }
                } onGracefulShutdown: {
                    // No more messages; the running handlers finish below, then the consumer commits.
                    self.lanes.withLock { $0.close() }
                    consumer.stopFetching()
                }
            }
            consumer.shutdown()
            try await services.next()
            services.cancelAll()
            if let failure { throw failure }
        }
    }

    /// Works a lane: its first message, then whatever arrived behind it for the same key.
    private func work(lane first: KafkaMessage, consumer: KafkaConsumer, handlers: AsyncSemaphore, inFlight: AsyncSemaphore) async {
        var current: KafkaMessage? = first
        while let message = current {
            let finished = await handle(message, consumer: consumer, handlers: handlers)
            guard finished else {
                let dropped = lanes.withLock { $0.abandon(message) }
                for _ in 0...dropped.count { inFlight.release() }
                return
            }
            let (next, store) = lanes.withLock { $0.finish(message) }
            if let store { consumer.store(store) }
            inFlight.release()
            current = next
        }
    }

    /// Handles one message to the end: handled, duplicate, ignored or dead-lettered. Returns false
    /// only when shutdown interrupted it (it is then left for the next owner). A handler slot is
    /// held only while the handler runs, not through a backoff.
    private func handle(_ message: KafkaMessage, consumer: KafkaConsumer, handlers: AsyncSemaphore) async -> Bool {
        let envelope: MessageEnvelope
        do {
            envelope = try MessageEnvelope(kafka: message)
        } catch {
            return await deadLetter(message, type: "unknown", failure: HandlingFailure(error), attempts: 1, firstFailure: Date())
        }
        var attempt = 1
        var outages = 0
        var firstFailure: Date?
        while true {
            let outcome = await handlers.withPermit {
                await processor.process(envelope, attempt: attempt, mayBeInWorkElsewhere: recentlyAssigned(message, consumer))
            }
            switch outcome {
            case .handled, .duplicate, .ignored:
                return true
            case .busy:
                // Another replica works it right now (a rebalance moved the partition); once it is
                // done, the inbox answers "duplicate".
                guard await pause(for: .milliseconds(200)) else { return false }
            case .failed(let failure) where failure.isInfrastructure:
                // The database is out of reach: not the message's fault, so no attempt is used up
                // and nothing is dead-lettered; the key waits until it is back.
                outages += 1
                guard await pause(for: processor.settings.retry.delay(after: min(outages, 10))) else { return false }
            case .failed(let failure):
                firstFailure = firstFailure ?? Date()
                guard failure.isRetriable, processor.settings.retry.allowsRetry(after: attempt) else {
                    return await deadLetter(message, type: envelope.type, failure: failure, attempts: attempt, firstFailure: firstFailure!)
                }
                processor.metrics.count(.retried, consumer: processor.consumer, type: envelope.type)
                guard await pause(for: processor.settings.retry.delay(after: attempt)) else { return false }
                attempt += 1
            }
        }
    }

    /// Whether the message's partition came to this member so recently that its previous owner
    /// may still be working on the message (within the guard's time to live).
    private func recentlyAssigned(_ message: KafkaMessage, _ consumer: KafkaConsumer) -> Bool {
        guard let assigned = consumer.assignedAt(message.topicPartition) else { return true }
        return ContinuousClock.now - assigned < (processor.settings.guardTimeToLive ?? .zero)
    }

    /// Sleeps; false if graceful shutdown cut it short.
    private func pause(for duration: Duration) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
            return true
        } catch {
            return false
        }
    }

    /// Sends the message to `<topic>.dlq`, retrying until the broker takes it (or shutdown).
    private func deadLetter(_ message: KafkaMessage, type: String, failure: HandlingFailure, attempts: Int, firstFailure: Date) async -> Bool {
        let now = WireTime.format(Date())
        var headers = message.headers.filter { !EnvelopeHeader.deadLetterHeaders.contains($0.name) }
        headers += [
            KafkaHeader(name: EnvelopeHeader.errorType, value: failure.errorType),
            KafkaHeader(name: EnvelopeHeader.errorMessage, value: String(failure.message.prefix(2000))),
            KafkaHeader(name: EnvelopeHeader.attempts, value: String(attempts)),
            KafkaHeader(name: EnvelopeHeader.originTopic, value: message.topic),
            KafkaHeader(name: EnvelopeHeader.originPartition, value: String(message.partition)),
            KafkaHeader(name: EnvelopeHeader.originOffset, value: String(message.offset)),
            KafkaHeader(name: EnvelopeHeader.consumer, value: processor.consumer),
            KafkaHeader(name: EnvelopeHeader.firstFailureAt, value: WireTime.format(firstFailure)),
            KafkaHeader(name: EnvelopeHeader.lastFailureAt, value: now),
        ]
        let topic = message.topic + Self.deadLetterSuffix
        let outgoing = KafkaOutgoingMessage(topic: topic, key: message.key, value: message.value, headers: headers)
        var backoff = Duration.milliseconds(200)
        while true {
            do {
                try await producer.send(outgoing)
                processor.metrics.count(.deadLettered, consumer: processor.consumer, type: type)
                logger.error("message dead-lettered", metadata: [
                    "message.type": "\(type)", "kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)",
                    "kafka.offset": "\(message.offset)", "error.type": "\(failure.errorType)", "error": "\(failure.message)",
                    "messaging.attempts": "\(attempts)", "kafka.dead_letter_topic": "\(topic)",
                ])
                return true
            } catch {
                logger.error("cannot dead-letter a message; retrying", metadata: ["kafka.topic": "\(topic)", "error": "\(error)"])
                guard await pause(for: backoff) else { return false }
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    private func reportLag(_ consumer: KafkaConsumer) async {
        while !Task.isCancelled {
            for topic in settings.topics {
                guard let lag = try? await consumer.lag(topic: topic) else { continue }
                for (partition, value) in lag {
                    processor.metrics.consumerLag(consumer: processor.consumer, topic: topic, partition: partition, value)
                }
            }
            try? await Task.sleep(for: settings.lagInterval)
        }
    }
}
