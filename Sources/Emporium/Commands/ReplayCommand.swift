import DomainRuntime
import AMQP
import ArgumentParser
import Foundation
import Kafka
import Logging
import Messaging
import ConnectionPool

/// `emporium replay list|show|send`: inspects a dead-letter topic or queue and sends messages back
/// to where they failed.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Inspect dead letters and replay them to their origin (Kafka <topic>.dlq or RabbitMQ <queue>.dlq).",
        subcommands: [List.self, Show.self, Send.self]
    )

    struct Source: ParsableArguments {
        @Option(help: "A Kafka dead-letter topic, e.g. order.dlq.")
        var topic: String?

        @Option(help: "A RabbitMQ dead-letter queue, e.g. emporium.mail.dlq (<namespace>.mail.dlq).")
        var queue: String?

        func validate() throws {
            guard (topic == nil) != (queue == nil) else { throw ValidationError("give exactly one of --topic and --queue") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count the dead letters by type and by error.")
        @OptionGroup var source: Source

        func run() async throws {
            let letters = try await DeadLetterTool(source: source).read()
            print(DeadLetter.summary(of: letters))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter, with its headers and body.")
        @OptionGroup var source: Source

        @Argument(help: "Its message id, or its position as the audit lines give it (topic[partition]@offset, or queue#n).")
        var message: String

        func run() async throws {
            let letters = try await DeadLetterTool(source: source).read()
            guard let letter = letters.first(where: { $0.messageID?.lowercased() == message.lowercased() || $0.position == message }) else {
                throw ValidationError("no dead letter \(message) among \(letters.count)")
            }
            print(letter.rendered)
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay dead letters to their origin. Replayed messages keep their id, so inboxes drop anything already handled.")
        @OptionGroup var source: Source

        @Option(name: .customLong("filter"), help: "type=T, error=E (substring of the error type or message) or key=K; repeatable, all must match.")
        var filters: [String] = []

        @Option(help: "Replay at most this many.")
        var limit: Int?

        @Option(help: "Messages per second at most.")
        var rate: Double?

        @Flag(help: "Show what would be replayed; change nothing.")
        var dryRun = false

        func run() async throws {
            var options = ReplayOptions(limit: limit, rate: rate, dryRun: dryRun)
            for filter in filters {
                let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--filter \(filter): expected name=value") }
                switch parts[0] {
                case "type": options.filter.type = parts[1]
                case "error": options.filter.error = parts[1]
                case "key": options.filter.key = parts[1]
                default: throw ValidationError("--filter \(filter): the name is one of type, error, key")
                }
            }
            let result = try await DeadLetterTool(source: source).replay(options)
            FileHandle.standardError.write(Data("\r\(result)\n".utf8))
        }
    }
}

/// Connects to the broker the source names, runs one read or replay, and disconnects.
struct DeadLetterTool {
    let source: ReplayCommand.Source
    let logger: Logger
    let messaging: MessagingSettings

    init(source: ReplayCommand.Source) throws {
        self.source = source
        var logger = Logger(label: "emporium.replay")
        logger.logLevel = .warning
        self.logger = logger
        messaging = try MessagingSettings(settings: try SettingsReader())
    }

    func read() async throws -> [DeadLetter] {
        if let topic = source.topic {
            return try await withKafka(topic) { try await $0.read().map(\.letter) }
        }
        return try await withAMQP(source.queue!) { try await $0.read() }
    }

    func replay(_ options: ReplayOptions) async throws -> ReplayProgress {
        let progress: (ReplayProgress) -> Void = { counts in
            if counts.scanned % 100 == 0 || counts.scanned == counts.total {
                FileHandle.standardError.write(Data("\r\(counts)".utf8))
            }
        }
        // One audit line per replayed message, on standard output, as JSON.
        let audit: (DeadLetter) -> Void = { letter in
            let record: [String: String] = [
                "event": options.dryRun ? "replay.dry_run" : "replay.sent", "at": Date().formatted(.iso8601),
                "message_id": letter.messageID ?? "", "type": letter.type, "key": letter.key ?? "",
                "from": letter.position, "to": letter.origin, "error_type": letter.errorType,
                "user": ProcessInfo.processInfo.environment["USER"] ?? "unknown",
            ]
            if let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
        }
        if let topic = source.topic {
            return try await withKafka(topic) { try await $0.replay(options, progress: progress, audit: audit) }
        }
        return try await withAMQP(source.queue!) { try await $0.replay(options, progress: progress, audit: audit) }
    }

    private func withKafka<R: Sendable>(_ topic: String, _ body: (KafkaDeadLetters) async throws -> R) async throws -> R {
        let producer = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)
        return try await withRunning([producer], logger: logger) {
            try await body(KafkaDeadLetters(topic: topic, bootstrapServers: messaging.kafkaBootstrapServers, producer: producer, logger: logger))
        }
    }

    private func withAMQP<R: Sendable>(_ queue: String, _ body: (AMQPDeadLetters) async throws -> R) async throws -> R {
        try await AMQPDeadLetters.withQueue(
            queue, configuration: messaging.amqp, workExchange: messaging.delays.workExchange, logger: logger, body)
    }
}
