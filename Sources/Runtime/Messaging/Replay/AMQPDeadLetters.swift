public import AMQP
import ConnectionPool
public import Logging

/// Reads and replays a RabbitMQ dead-letter queue (`<queue>.dlq`).
///
/// Reading takes the messages there at the start (up to ``maximumBatch``) without settling them;
/// they return to the queue, in order, when the connection closes. Use one connection per read or
/// replay and shut it down afterwards. Replaying publishes each chosen message to its origin queue's
/// name on the work exchange, with its envelope headers (the same message id, so the inbox drops
/// anything already handled), and acks it once confirmed; a message not chosen is put back at the
/// tail of the dead-letter queue, unchanged. Each message is visited once per run.
public struct AMQPDeadLetters: Sendable {
    public let queue: String
    let connection: AMQPConnection
    let workExchange: String
    let logger: Logger

    /// Deliveries taken at once (the prefetch, which AMQP caps at 65,535).
    public static let maximumBatch = 10_000

    public init(queue: String, connection: AMQPConnection, workExchange: String = "emporium.work", logger: Logger) {
        self.queue = queue
        self.connection = connection
        self.workExchange = workExchange
        self.logger = logger
    }

    /// Runs `body` with the queue on a connection of its own, shut down afterwards: what a read
    /// left unsettled is back in the queue when this returns, so the next read sees it again.
    /// (Two reads on one connection do not: the first one's deliveries stay in its hands.)
    public static func withQueue<R: Sendable>(
        _ queue: String, configuration: AMQPConfiguration, workExchange: String, logger: Logger,
        _ body: (AMQPDeadLetters) async throws -> R
    ) async throws -> R {
        var configuration = configuration
        configuration.drainTimeout = .milliseconds(200)
        let connection = try AMQPConnection(configuration: configuration, logger: logger)
        return try await withRunning([connection], logger: logger) {
            try await body(AMQPDeadLetters(queue: queue, connection: connection, workExchange: workExchange, logger: logger))
        }
    }

    /// The messages in the queue now (the first ``maximumBatch``), which stay in the queue.
    public func read() async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        try await visit { delivery, index in
            letters.append(Self.letter(from: delivery, index: index, queue: queue))
        }
        return letters
    }

    /// Replays the messages that match `options`; see ``KafkaDeadLetters/replay(_:progress:audit:)``.
    public func replay(
        _ options: ReplayOptions, progress: (ReplayProgress) -> Void, audit: (DeadLetter) -> Void
    ) async throws -> ReplayProgress {
        var counts = ReplayProgress(total: min(try await readyCount(), Self.maximumBatch), dryRun: options.dryRun)
        var pacer = ReplayPacer(rate: options.rate)
        try await visit { delivery, index in
            let letter = Self.letter(from: delivery, index: index, queue: queue)
            counts.scanned += 1
            let chosen = options.filter.matches(letter) && counts.replayed < (options.limit ?? .max)
            if options.dryRun {
                // Left unsettled: it returns to the queue when the connection closes.
            } else if chosen {
                try await pacer.wait()
                var message = AMQPMessageConsumer.copy(of: delivery, exchange: workExchange, routingKey: letter.origin)
                for name in EnvelopeHeader.deadLetterHeaders { message.headers[name] = nil }
                try await connection.publish(message)
                try delivery.ack()
            } else {
                // Back to the tail, so this run does not meet it again before the others.
                try await connection.publish(AMQPMessageConsumer.copy(of: delivery, exchange: "", routingKey: queue))
                try delivery.ack()
            }
            if chosen {
                counts.replayed += 1
                audit(letter)
            } else {
                counts.skipped += 1
            }
            progress(counts)
        }
        return counts
    }

    /// Calls `body` for each message in the queue at the start, in order.
    private func visit(_ body: (AMQPDelivery, Int) async throws -> Void) async throws {
        let count = min(try await readyCount(), Self.maximumBatch)
        guard count > 0 else { return }
        var index = 0
        for try await delivery in connection.consume(queue: queue, prefetch: count) {
            try await body(delivery, index)
            index += 1
            if index == count { break }
        }
    }

    static func letter(from delivery: AMQPDelivery, index: Int, queue: String) -> DeadLetter {
        let headers = delivery.headers
        let origin = headers[EnvelopeHeader.originQueue]?.text
            ?? (queue.hasSuffix(".dlq") ? String(queue.dropLast(4)) : queue)
        var shown: [(name: String, value: String)] = [
            ("message_id", delivery.messageID ?? ""), ("type", delivery.type ?? ""), ("correlation_id", delivery.correlationID ?? ""),
        ]
        shown += headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value.text) }
        return DeadLetter(
            position: "\(queue)#\(index)", messageID: delivery.messageID,
            type: delivery.type ?? headers[EnvelopeHeader.messageType]?.text ?? "unknown",
            key: headers[EnvelopeHeader.key]?.text,
            errorType: headers[EnvelopeHeader.errorType]?.text ?? (headers["x-first-death-reason"]?.text ?? "unknown"),
            errorMessage: headers[EnvelopeHeader.errorMessage]?.text ?? "",
            attempts: headers[EnvelopeHeader.attempts]?.text ?? "?", origin: origin,
            consumer: headers[EnvelopeHeader.consumer]?.text ?? "?",
            firstFailureAt: headers[EnvelopeHeader.firstFailureAt]?.text ?? "?",
            lastFailureAt: headers[EnvelopeHeader.lastFailureAt]?.text ?? "?",
            headers: shown, body: delivery.bodyString)
    }

    /// The messages ready in the queue. An empty answer is asked again for up to two seconds:
    /// what a command run just before (`list`, `show`, a dry run) left unsettled comes back to
    /// the queue only once the broker has seen that command's connection close.
    private func readyCount() async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(2)
        while true {
            let count = try await connection.messageCount(queue: queue)
            if count > 0 || ContinuousClock.now >= deadline { return count }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
