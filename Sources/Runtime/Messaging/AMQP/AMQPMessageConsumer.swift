public import AMQP
import Foundation
public import Logging
public import ServiceLifecycle

/// Settings of an AMQP consumer of the messaging runtime.
public struct AMQPMessageConsumerSettings: Sendable {
    /// The queue (a quorum queue, declared at start).
    public var queue: String
    /// Routing keys on the work exchange this queue takes, besides its own name (which retries
    /// and replays use).
    public var routingKeys: [String]
    /// Unacknowledged deliveries at most (`basic.qos`).
    public var prefetch = 64
    /// Handlers running at once.
    public var concurrency = 16
    /// The broker's own backstop (`x-delivery-limit`): a message delivered this often without an
    /// ack (a worker crashing on it, again and again) is dead-lettered by RabbitMQ itself.
    public var deliveryLimit = 20

    /// Where its dead letters go (a quorum queue, declared with it): `<queue>.dlq` unless set.
    public var deadLetterQueue: String

    public init(queue: String, routingKeys: [String] = []) {
        self.queue = queue
        self.routingKeys = routingKeys
        deadLetterQueue = queue + ".dlq"
    }
}

/// Consumes an AMQP queue through a ``MessageProcessor`` with `concurrency` handlers and
/// `prefetch`. A delivery is acked only after its handler's transaction committed, or after the
/// message it turned into (a retry, a dead letter, the next hop of a delay) was confirmed.
///
/// Retries go through the delay queues: the message is published again, with `x-attempts`, to
/// the delay level that fits the backoff, and comes back to this queue (by its name on the work
/// exchange); the queue is never blocked by a waiting message. A poison message, a permanent
/// failure or the last failed attempt goes to the dead-letter queue with the error, attempts, origin,
/// consumer and failure times in headers.
///
/// Shutdown: the consumer ends when its connection drains (the connection stops deliveries,
/// waits for the deliveries in hand to be settled, then closes). In a `ServiceGroup`, list the
/// connection after its consumers, so it is told to shut down first.
public final class AMQPMessageConsumer: Service, Sendable {
    let settings: AMQPMessageConsumerSettings
    let processor: MessageProcessor
    let connection: AMQPConnection
    let delays: AMQPDelays
    let logger: Logger

    public init(settings: AMQPMessageConsumerSettings, processor: MessageProcessor, connection: AMQPConnection, delays: AMQPDelays, logger: Logger) {
        self.settings = settings
        self.processor = processor
        self.connection = connection
        self.delays = delays
        self.logger = logger
    }

    /// The queue, its dead-letter queue, its bindings, and the delay topology.
    public static func topology(_ settings: AMQPMessageConsumerSettings, delays: AMQPDelays) -> AMQPTopology {
        var topology = delays.topology
        // Broker-side dead-lettering here is only the delivery-limit backstop, at most once: with
        // at-least-once (which needs reject-publish overflow) the work queue was seen to nack
        // ordinary publishes under load.
        topology.queues.append(AMQPQueue(
            name: settings.queue, kind: .quorum, deadLetterExchange: "", deadLetterRoutingKey: settings.deadLetterQueue,
            deliveryLimit: settings.deliveryLimit))
        topology.queues.append(AMQPQueue(name: settings.deadLetterQueue, kind: .quorum))
        for key in [settings.queue] + settings.routingKeys {
            topology.bindings.append(AMQPBinding(queue: settings.queue, exchange: delays.workExchange, routingKey: key))
            topology.bindings.append(AMQPBinding(queue: settings.queue, exchange: delays.dueExchange, routingKey: key))
        }
        return topology
    }

    public func run() async throws {
        do {
            try await consume()
        } catch let error as AMQPError where error.code == .closed {
            // The connection was shut down before this consumer had declared its queues or started
            // consuming (a stop right after start-up): nothing was taken, so nothing to drain.
            logger.debug("amqp connection shut down before the consumer started", metadata: ["amqp.queue": "\(settings.queue)"])
            try? await gracefulShutdown()
        } catch {
            logger.error("amqp consumer stopped", metadata: ["amqp.queue": "\(settings.queue)", "error": "\(error)"])
            throw error
        }
    }

    private func consume() async throws {
        guard try await declareTopology() else { return }
        let slots = AsyncSemaphore(permits: settings.concurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.reportDepths() }
            try await withThrowingDiscardingTaskGroup { handlers in
                for try await delivery in connection.consume(queue: settings.queue, prefetch: settings.prefetch) {
                    await slots.acquire()
                    handlers.addTask {
                        await self.handle(delivery)
                        slots.release()
                    }
                }
            }
            group.cancelAll()
            // The deliveries end when the connection has drained, which it does when told to shut
            // down, ahead of this service; return when this service's own turn comes.
            try? await gracefulShutdown()
        }
    }

    /// Declares the consumer's queues, trying again while the broker is away or reports trouble of
    /// its own (a worker started during a broker restart, or a quorum queue declared before the
    /// broker's Raft cluster has a leader); false when told to stop before it succeeded.
    private func declareTopology() async throws -> Bool {
        var wait = Duration.milliseconds(250)
        while true {
            do {
                try await connection.declare(Self.topology(settings, delays: delays))
                return true
            } catch let error as AMQPError where error.isRetriable {
                logger.warning("amqp cannot declare the consumer's queues yet; trying again", metadata: [
                    "amqp.queue": "\(settings.queue)", "error": "\(error)", "retry.wait": "\(wait)",
                ])
            }
            do {
                try await cancelWhenGracefulShutdown { [wait] in try await Task.sleep(for: wait) }
            } catch is CancellationError {
                return false
            }
            wait = min(wait * 2, .seconds(5))
        }
    }

    // MARK: - One delivery

    private func handle(_ delivery: AMQPDelivery) async {
        if let hop = delays.nextHop(for: delivery) {
            logger.trace("delayed message early; sending it on", metadata: [
                "message.id": "\(delivery.messageID ?? "")", "amqp.exchange": "\(hop.exchange)",
            ])
            await forward(delivery, as: hop, outcome: .forwarded, type: delivery.type ?? "unknown")
            return
        }
        let envelope: MessageEnvelope
        do {
            envelope = try MessageEnvelope(amqp: delivery)
        } catch {
            await deadLetter(delivery, type: delivery.type ?? "unknown", failure: HandlingFailure(error), attempt: 1)
            return
        }
        let attempt = Self.isReplayedDeadLetter(delivery) ? 1 : Int(delivery.headers[EnvelopeHeader.attempts]?.text ?? "").map { $0 + 1 } ?? 1
        switch await processor.process(envelope, attempt: attempt, mayBeInWorkElsewhere: delivery.redelivered) {
        case .handled, .duplicate, .ignored:
            settle(delivery) { try $0.ack() }
        case .busy:
            // Another replica works it; look again shortly, without counting an attempt.
            await retry(delivery, type: envelope.type, attempts: attempt - 1, after: delays.levels[0], failure: nil)
        case .failed(let failure) where failure.isInfrastructure:
            // The database is out of reach: not the message's fault; it comes back later (backing
            // off as the outage goes on) without using up an attempt, and is never dead-lettered for it.
            let outages = (Int(delivery.headers[EnvelopeHeader.outages]?.text ?? "") ?? 0) + 1
            await retry(
                delivery, type: envelope.type, attempts: attempt - 1,
                after: processor.settings.retry.delay(after: min(outages, 10)), failure: nil, outages: outages)
        case .failed(let failure):
            guard failure.isRetriable, processor.settings.retry.allowsRetry(after: attempt) else {
                await deadLetter(delivery, type: envelope.type, failure: failure, attempt: attempt)
                return
            }
            await retry(delivery, type: envelope.type, attempts: attempt, after: processor.settings.retry.delay(after: attempt), failure: failure)
        }
    }

    private func retry(
        _ delivery: AMQPDelivery, type: String, attempts: Int, after delay: Duration, failure: HandlingFailure?, outages: Int? = nil
    ) async {
        var message = Self.copy(of: delivery, exchange: delays.workExchange, routingKey: settings.queue, startingOver: true)
        message.headers[EnvelopeHeader.deliverAt] = nil
        message.headers[EnvelopeHeader.attempts] = .integer(Int64(attempts))
        if let outages { message.headers[EnvelopeHeader.outages] = .integer(Int64(outages)) }
        if failure != nil {
            let now = WireTime.format(Date())
            if message.headers[EnvelopeHeader.firstFailureAt] == nil { message.headers[EnvelopeHeader.firstFailureAt] = .string(now) }
            message.headers[EnvelopeHeader.lastFailureAt] = .string(now)
        }
        await forward(delivery, as: delays.schedule(message, after: delay), outcome: failure == nil ? nil : .retried, type: type)
    }

    private func deadLetter(_ delivery: AMQPDelivery, type: String, failure: HandlingFailure, attempt: Int) async {
        var message = Self.copy(of: delivery, exchange: "", routingKey: settings.deadLetterQueue, startingOver: true)
        let now = WireTime.format(Date())
        message.headers[EnvelopeHeader.deliverAt] = nil
        message.headers[EnvelopeHeader.errorType] = .string(failure.errorType)
        message.headers[EnvelopeHeader.errorMessage] = .string(String(failure.message.prefix(2000)))
        message.headers[EnvelopeHeader.attempts] = .integer(Int64(attempt))
        message.headers[EnvelopeHeader.originQueue] = .string(settings.queue)
        message.headers[EnvelopeHeader.consumer] = .string(processor.consumer)
        if message.headers[EnvelopeHeader.firstFailureAt] == nil { message.headers[EnvelopeHeader.firstFailureAt] = .string(now) }
        message.headers[EnvelopeHeader.lastFailureAt] = .string(now)
        await forward(delivery, as: message, outcome: .deadLettered, type: type)
        logger.error("message dead-lettered", metadata: [
            "message.id": "\(delivery.messageID ?? "")", "message.type": "\(type)", "amqp.queue": "\(settings.queue)",
            "error.type": "\(failure.errorType)", "error": "\(failure.message)", "messaging.attempts": "\(attempt)",
        ])
    }

    /// Publishes `message` in place of `delivery`, then acks the delivery. If the publish fails,
    /// the delivery goes back to the queue (nack with requeue), so nothing is lost.
    private func forward(_ delivery: AMQPDelivery, as message: AMQPOutgoingMessage, outcome: MessagingMetrics.Outcome?, type: String) async {
        do {
            try await connection.publish(message)
            if let outcome { processor.metrics.count(outcome, consumer: processor.consumer, type: type) }
            settle(delivery) { try $0.ack() }
        } catch {
            logger.warning("cannot publish a retry, delay or dead letter; requeueing the delivery", metadata: [
                "amqp.queue": "\(settings.queue)", "amqp.exchange": "\(message.exchange)", "error": "\(error)",
            ])
            settle(delivery) { try $0.nack(requeue: true) }
        }
    }

    private func settle(_ delivery: AMQPDelivery, _ body: (AMQPDelivery) throws -> Void) {
        do {
            try body(delivery)
        } catch {
            // The connection is gone: the broker delivers the message again.
            logger.debug("settling a delivery failed", metadata: ["error": "\(error)"])
        }
    }

    /// A copy of `delivery` for `exchange` and `routingKey`. With `startingOver`, a dead letter
    /// sent back by other means than `emporium replay` (a shovel keeps every header) loses its old
    /// failure headers: it starts over with a full set of attempts, and its retries count again.
    static func copy(of delivery: AMQPDelivery, exchange: String, routingKey: String, startingOver: Bool = false) -> AMQPOutgoingMessage {
        var headers = delivery.headers
        if startingOver && isReplayedDeadLetter(delivery) {
            for name in EnvelopeHeader.deadLetterHeaders { headers[name] = nil }
        }
        return AMQPOutgoingMessage(
            exchange: exchange, routingKey: routingKey, body: delivery.body, messageID: delivery.messageID,
            contentType: delivery.contentType, type: delivery.type, correlationID: delivery.correlationID,
            headers: headers)
    }

    /// A message that carries the dead-letter headers but arrived in a work queue was replayed.
    static func isReplayedDeadLetter(_ delivery: AMQPDelivery) -> Bool {
        delivery.headers[EnvelopeHeader.errorType] != nil
    }

    private func reportDepths() async {
        let queues = delays.queueNames + [settings.queue, settings.deadLetterQueue]
        while !Task.isCancelled {
            for queue in queues {
                if let depth = try? await connection.messageCount(queue: queue) {
                    processor.metrics.delayQueueDepth(queue: queue, depth)
                }
            }
            try? await Task.sleep(for: .seconds(10))
        }
    }
}
