public import AMQP
import ConnectionPool
public import Logging

/// Reads and replays a RabbitMQ dead-letter queue (`<queue>.dlq`).
///
/// Reading takes the messages there at the start (up to ``maximumBatch``) and gives them back
/// (a requeueing nack, in order), then waits until the broker counts them as ready again, so a
/// read right after it, on this connection or another, sees them too. Replaying publishes each chosen message to its origin queue's
/// name on the work exchange, with its envelope headers (the same message id, so the inbox drops
/// anything already handled), and acks it once confirmed; a message not chosen is put back at the
/// tail of the dead-letter queue, with where and why it died in our headers. Each message is visited once per run.
public struct AMQPDeadLetters: Sendable {
    public let queue: String
    let connection: AMQPConnection
    let workExchange: String
    let logger: Logger

    /// What a replayed letter goes without: our dead-letter headers and the broker's record of its deaths.
    static let headersLeftOut = EnvelopeHeader.deadLetterHeaders.union(AMQPDeath.headerNames)

    /// Deliveries taken at once (the prefetch, which AMQP caps at 65,535).
    public static let maximumBatch = 10_000

    public init(queue: String, connection: AMQPConnection, workExchange: String = "emporium.work", logger: Logger) {
        self.queue = queue
        self.connection = connection
        self.workExchange = workExchange
        self.logger = logger
    }

    /// Runs `body` with the queue on a connection of its own, shut down afterwards.
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
            return false
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
                // Left unsettled: `visit` gives it back.
            } else if chosen {
                try await pacer.wait()
                var message = AMQPMessageConsumer.copy(of: delivery, exchange: workExchange, routingKey: letter.origin)
                // Handled afresh: neither our dead-letter headers nor the broker's record of its
                // deaths go with it (a later death is recorded anew).
                for name in Self.headersLeftOut { message.headers[name] = nil }
                try await connection.publish(message)
                try delivery.ack()
            } else {
                // Back to the tail, so this run does not meet it again before the others. Where it
                // died and why go with it in our own headers: a republished message loses the
                // broker's `x-death` (an array, which our headers do not carry).
                var message = AMQPMessageConsumer.copy(of: delivery, exchange: "", routingKey: queue)
                message.headers[EnvelopeHeader.originQueue] = .string(letter.origin)
                if message.headers[EnvelopeHeader.errorType] == nil { message.headers[EnvelopeHeader.errorType] = .string(letter.errorType) }
                try await connection.publish(message)
                try delivery.ack()
            }
            if chosen {
                counts.replayed += 1
                audit(letter)
            } else {
                counts.skipped += 1
            }
            progress(counts)
            return !options.dryRun
        }
        return counts
    }

    /// Calls `body` for each message in the queue at the start, in order; `body` says whether it
    /// settled the delivery. The ones it did not are given back, in order, and this returns once
    /// the broker counts them as ready again (or after ``returnTimeout``, with a warning).
    ///
    /// Leaving them unsettled until the connection closes is not enough: a quorum queue takes them
    /// back some time after the close, and a read just after it (a chaos drain polls every 5 s)
    /// saw fewer letters than there were.
    private func visit(_ body: (AMQPDelivery, Int) async throws -> Bool) async throws {
        let count = min(try await readyCount(), Self.maximumBatch)
        guard count > 0 else { return }
        var index = 0
        var unsettled: [AMQPDelivery] = []
        let deliveries = connection.consume(queue: queue, prefetch: count)
        for try await delivery in deliveries {
            if try await !body(delivery, index) { unsettled.append(delivery) }
            index += 1
            if index == count { break }
        }
        // Cancelled first, or the broker hands what is given back to this consumer again.
        try await deliveries.cancel()
        guard !unsettled.isEmpty else { return }
        for delivery in unsettled { try delivery.nack(requeue: true) }
        let ready = try await readyCount(atLeast: unsettled.count, within: Self.returnTimeout)
        if ready < unsettled.count {
            logger.warning("dead letters given back are not all counted as ready yet", metadata: [
                "amqp.queue": "\(queue)", "amqp.returned": "\(unsettled.count)", "amqp.ready": "\(ready)",
            ])
        }
    }

    /// How long a read waits for the broker to count the letters it gave back as ready.
    static let returnTimeout: Duration = .seconds(30)

    static func letter(from delivery: AMQPDelivery, index: Int, queue: String) -> DeadLetter {
        let headers = delivery.headers
        // Our consumers name the queue they dead-lettered from. A letter the broker dead-lettered
        // itself (a quorum queue's delivery limit) names it in its last death, so a code mail goes
        // back to `<ns>.mail.codes`, not to the queue the name suggests. Not the first death: a
        // retried or delayed message died first in its delay queue.
        let origin = headers[EnvelopeHeader.originQueue]?.text
            ?? delivery.lastDeath?.queue
            ?? (queue.hasSuffix(".dlq") ? String(queue.dropLast(4)) : queue)
        var shown: [(name: String, value: String)] = [
            ("message_id", delivery.messageID ?? ""), ("type", delivery.type ?? ""), ("correlation_id", delivery.correlationID ?? ""),
        ]
        shown += headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value.text) }
        return DeadLetter(
            position: "\(queue)#\(index)", messageID: delivery.messageID,
            type: delivery.type ?? headers[EnvelopeHeader.messageType]?.text ?? "unknown",
            key: headers[EnvelopeHeader.key]?.text,
            errorType: headers[EnvelopeHeader.errorType]?.text ?? delivery.lastDeath?.reason ?? "unknown",
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
        try await readyCount(atLeast: 1, within: .seconds(2))
    }

    /// The messages ready in the queue, asked again until there are at least `minimum` or
    /// `timeout` has passed.
    private func readyCount(atLeast minimum: Int, within timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while true {
            let count = try await connection.messageCount(queue: queue)
            if count >= minimum || ContinuousClock.now >= deadline { return count }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
