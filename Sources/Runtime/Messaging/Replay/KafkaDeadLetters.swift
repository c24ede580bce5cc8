import Foundation
public import Kafka
public import Logging

/// Reads and replays a Kafka dead-letter topic (`<topic>.dlq`).
///
/// Reading takes a snapshot: every partition up to its high watermark at the start (or at its
/// first fetch, where that says more), through a
/// throwaway consumer group that commits nothing. Replaying sends each chosen message back to its
/// origin topic with its key, value and envelope headers (the same message id, so consumers'
/// inboxes drop anything already handled); the dead-letter topic itself is left as it is, a log.
public struct KafkaDeadLetters: Sendable {
    public let topic: String
    let bootstrapServers: [String]
    let producer: KafkaProducer
    let logger: Logger

    public init(topic: String, bootstrapServers: [String], producer: KafkaProducer, logger: Logger) {
        self.topic = topic
        self.bootstrapServers = bootstrapServers
        self.producer = producer
        self.logger = logger
    }

    /// Every message in the topic now, oldest first per partition.
    public func read() async throws -> [(letter: DeadLetter, message: KafkaMessage)] {
        guard let partitions = try await producer.topics().first(where: { $0.name == topic })?.partitions else {
            throw MessagingError(.configuration, "no topic \(topic)")
        }
        var remaining: [Int32: Int64] = [:]
        for partition in partitions {
            let marks = try await producer.watermarks(KafkaTopicPartition(topic: topic, partition: partition))
            if marks.high > marks.low { remaining[partition] = marks.high }
        }
        guard !remaining.isEmpty else { return [] }
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: "emporium-replay-\(UUID().uuidString)")
        configuration.autoOffsetReset = "earliest"
        configuration.commitInterval = .seconds(3600)
        let consumer = try await KafkaConsumer.make(configuration: configuration, topics: [topic], logger: logger)
        let highWatermarks = remaining
        return try await withThrowingTaskGroup(of: [(letter: DeadLetter, message: KafkaMessage)]?.self) { group in
            group.addTask {
                try await consumer.run()
                return nil
            }
            group.addTask {
                var remaining = highWatermarks
                var fetched: Set<Int32> = []
                var letters: [(letter: DeadLetter, message: KafkaMessage)] = []
                for try await message in consumer.messages {
                    guard var high = remaining[message.partition] else { continue }
                    // The first Fetch answer's high watermark, if it says more: ListOffsets can
                    // fall short on some brokers (Tansu 0.6.0 answers the last batch's first
                    // offset + 1), and a snapshot must not miss the end of the log.
                    if fetched.insert(message.partition).inserted,
                       let answered = consumer.fetchedWatermarks(message.topicPartition)?.high, answered > high {
                        high = answered
                        remaining[message.partition] = answered
                    }
                    if message.offset < high { letters.append((Self.letter(from: message), message)) }
                    if message.offset >= high - 1 { remaining[message.partition] = nil }
                    if remaining.isEmpty { break }
                }
                consumer.shutdown()
                return letters
            }
            var result: [(letter: DeadLetter, message: KafkaMessage)] = []
            for try await letters in group {
                if let letters { result = letters }
            }
            return result
        }
    }

    /// Replays the messages that match `options`; `progress` is called after each message, `audit`
    /// for each message replayed (or, in a dry run, that would be).
    public func replay(
        _ options: ReplayOptions, progress: (ReplayProgress) -> Void, audit: (DeadLetter) -> Void
    ) async throws -> ReplayProgress {
        let letters = try await read()
        var counts = ReplayProgress(total: letters.count, dryRun: options.dryRun)
        var pacer = ReplayPacer(rate: options.rate)
        for (letter, message) in letters {
            counts.scanned += 1
            guard options.filter.matches(letter), counts.replayed < (options.limit ?? .max) else {
                counts.skipped += 1
                progress(counts)
                continue
            }
            if !options.dryRun {
                try await pacer.wait()
                let headers = message.headers.filter { !EnvelopeHeader.deadLetterHeaders.contains($0.name) }
                try await producer.send(KafkaOutgoingMessage(topic: letter.origin, key: message.key, value: message.value, headers: headers))
            }
            counts.replayed += 1
            audit(letter)
            progress(counts)
        }
        return counts
    }

    static func letter(from message: KafkaMessage) -> DeadLetter {
        let origin = message.header(EnvelopeHeader.originTopic)
            ?? (message.topic.hasSuffix(KafkaMessageConsumer.deadLetterSuffix)
                ? String(message.topic.dropLast(KafkaMessageConsumer.deadLetterSuffix.count)) : message.topic)
        return DeadLetter(
            position: "\(message.topicPartition)@\(message.offset)", messageID: message.header(EnvelopeHeader.messageID),
            type: message.header(EnvelopeHeader.messageType) ?? "unknown", key: message.keyString,
            errorType: message.header(EnvelopeHeader.errorType) ?? "unknown",
            errorMessage: message.header(EnvelopeHeader.errorMessage) ?? "",
            attempts: message.header(EnvelopeHeader.attempts) ?? "?", origin: origin,
            consumer: message.header(EnvelopeHeader.consumer) ?? "?",
            firstFailureAt: message.header(EnvelopeHeader.firstFailureAt) ?? "?",
            lastFailureAt: message.header(EnvelopeHeader.lastFailureAt) ?? "?",
            headers: message.headers.map { ($0.name, $0.value.map { String(decoding: $0, as: UTF8.self) } ?? "") },
            body: message.valueString)
    }
}
