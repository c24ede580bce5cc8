public import Logging
public import Postgres
public import Redis
public import CoreMetrics
import Tracing

/// Settings every consumer shares, whatever its transport.
public struct MessageConsumerSettings: Sendable {
    /// The consumer's name: the inbox's `consumer`, the Kafka group id, the AMQP queue's owner.
    public var name: String
    public var retry: RetryPolicy
    /// How long the Redis guard keeps other replicas off a message being worked; longer than the
    /// slowest handler. `nil` turns the guard off (the inbox alone still prevents a second effect).
    public var guardTimeToLive: Duration?
    /// Off only for handlers that are idempotent by themselves (an upsert keyed by the message):
    /// then neither the inbox row nor the Redis guard is written.
    public var usesInbox: Bool
    /// On when every handler's effects are statements on the message's own transaction (no mail
    /// sent, no other connection written to). The inbox row then goes to the server with the
    /// handler's first statement, a round trip fewer per message, and a duplicate shows as the
    /// server refusing that row: the transaction fails there, so nothing the handler did stays.
    public var handlersActOnlyInTransaction: Bool

    public init(
        name: String, retry: RetryPolicy = RetryPolicy(), guardTimeToLive: Duration? = .seconds(30), usesInbox: Bool = true,
        handlersActOnlyInTransaction: Bool = false
    ) {
        self.name = name
        self.retry = retry
        self.guardTimeToLive = guardTimeToLive
        self.usesInbox = usesInbox
        self.handlersActOnlyInTransaction = handlersActOnlyInTransaction
    }
}

/// The transport-independent part of consuming: the Redis guard, the inbox transaction, the
/// handler, and the verdict on a failure. Transports decide what a verdict means (commit, ack,
/// retry later, dead-letter).
public final class MessageProcessor: Sendable {
    public let settings: MessageConsumerSettings
    let handlers: MessageHandlers
    let database: PostgresPool
    let redis: RedisPool?
    let logger: Logger
    let metrics: MessagingMetrics

    public init(
        settings: MessageConsumerSettings, handlers: MessageHandlers, database: PostgresPool, redis: RedisPool?, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metrics = MessagingMetrics(factory: metricsFactory)
        metrics.prepare(consumer: settings.name, types: handlers.types)
        self.settings = settings
        self.handlers = handlers
        self.database = database
        self.redis = redis
        self.logger = logger
    }

    public var consumer: String { settings.name }

    enum Outcome: Sendable, Equatable {
        /// The handler's transaction committed.
        case handled
        /// The inbox already had it: acknowledged without effect.
        case duplicate
        /// No handler for the type.
        case ignored
        /// Another replica holds the guard; try again later.
        case busy
        case failed(HandlingFailure)
    }

    /// Runs the handler for `envelope` once (attempt number `attempt`). `mayBeInWorkElsewhere`
    /// says whether another replica could be working on the same message right now (a Kafka
    /// partition that changed owners within the guard's time to live, an AMQP redelivery); only
    /// then is the Redis guard taken. Otherwise the broker hands a message to one consumer at a
    /// time, and the inbox row, inserted before the handler runs, makes a concurrent copy (two
    /// relayed copies of one event) wait for the first and then find it done.
    func process(_ envelope: MessageEnvelope, attempt: Int, mayBeInWorkElsewhere: Bool = true) async -> Outcome {
        guard let handler = handlers.handler(for: envelope.type) else {
            metrics.count(.ignored, consumer: consumer, type: envelope.type)
            return .ignored
        }
        let prepared: AnyMessageHandler.Prepared
        do {
            prepared = try handler.prepare(envelope)
        } catch {
            return failed(HandlingFailure(error), envelope)
        }

        let lock: RedisLock?
        switch settings.usesInbox && mayBeInWorkElsewhere ? await takeGuard(envelope) : .taken(nil) {
        case .taken(let taken): lock = taken
        case .heldElsewhere: return .busy
        }

        var logger = self.logger
        logger[metadataKey: "message.id"] = "\(envelope.idString)"
        logger[metadataKey: "message.type"] = "\(envelope.type)"
        logger[metadataKey: "correlation.id"] = "\(envelope.correlationID)"
        if let trace = envelope.traceParent.flatMap(TraceParent.init) { logger[metadataKey: "trace.id"] = "\(trace.traceID)" }
        let outcome = await handle(envelope, prepared, attempt: attempt, logger: logger)
        if let lock {
            do { try await lock.release() } catch { logger.debug("inbox guard release failed", metadata: ["error": "\(error)"]) }
        }
        return outcome
    }

    /// Times a handler may lose a race (``MessageHandlers/decideAgain(whenViolated:)``) and run
    /// again at once for one message; past them, the failure counts as an attempt.
    static let lostRaceRetries = 10

    /// Whether `error` is a violation of a constraint the handlers declared a lost race.
    static func lostRace(_ error: any Error, declared constraints: Set<String>) -> Bool {
        guard let error = error as? PostgresError, let constraint = error.constraint else { return false }
        return constraints.contains(constraint)
    }

    /// The inbox transaction and the handler in it, run again at once after a lost race.
    private func handle(
        _ envelope: MessageEnvelope, _ prepared: AnyMessageHandler.Prepared, attempt: Int, logger: Logger
    ) async -> Outcome {
        var racesLost = 0
        while true {
            let start = ContinuousClock.now
            var handlerRan = false
            // The inbox row when it rides with the handler's first statement.
            var inbox: PostgresDeferredResult?
            do {
                let fresh = try await database.withTransaction { [consumer, settings] connection in
                    let ridesAlong = settings.handlersActOnlyInTransaction
                    // Riding along, no ON CONFLICT: a duplicate fails the round trip it goes out with.
                    let insert: PostgresQuery = """
                        INSERT INTO messaging.inbox (consumer, message_id, message_type)
                        VALUES (\(consumer), \(envelope.idString)::uuid, \(envelope.type))
                        \(unescaped: ridesAlong ? "" : "ON CONFLICT DO NOTHING")
                        """
                    if settings.usesInbox && ridesAlong {
                        inbox = try await connection.executeDeferred(insert)
                    } else {
                        let recorded = !settings.usesInbox ? 1 : try await connection.execute(insert)
                        guard recorded == 1 else { return false }
                        handlerRan = true
                    }
                    // A consumer span, child of the sender's (a no-op unless span export is configured);
                    // what the handler publishes carries it on.
                    try await withSpan(
                        "\(envelope.type) process", context: TracePropagation.context(continuing: envelope.traceParent), ofKind: .consumer
                    ) { span in
                        span.attributes["messaging.message.id"] = envelope.idString
                        span.attributes["messaging.consumer.group.name"] = consumer
                        try await prepared(MessageContext(
                            envelope: envelope, consumer: consumer, attempt: attempt, connection: connection, logger: logger))
                    }
                    return true
                }
                metrics.handlerDuration(consumer: consumer, type: envelope.type, ContinuousClock.now - start)
                metrics.count(fresh ? .handled : .duplicate, consumer: consumer, type: envelope.type)
                return fresh ? .handled : .duplicate
            } catch where inbox?.error?.isUniqueViolation == true {
                // The inbox refused the row: handled before. Whatever the handler made of the failed
                // statement, the transaction was rolled back.
                metrics.count(.duplicate, consumer: consumer, type: envelope.type)
                return .duplicate
            } catch where Self.lostRace(error, declared: handlers.lostRaceConstraints) && racesLost < Self.lostRaceRetries && !Task.isCancelled {
                // A row the handler decided on changed before its commit, and the constraint
                // refused the result; nothing of the transaction stayed. Decide again now.
                racesLost += 1
                metrics.count(.raceLost, consumer: consumer, type: envelope.type)
                logger.debug("lost a race; handling again", metadata: [
                    "constraint": "\((error as? PostgresError)?.constraint ?? "")", "races.lost": "\(racesLost)",
                ])
                continue
            } catch {
                var failure = HandlingFailure(error)
                // Only a failure to reach the database before the handler ran is surely not the
                // message's doing (a handler can get its own connection killed); an interruption
                // by shutdown never is. With the inbox row riding along, the handler's statements
                // ran only if that row went in: refused as a write (25006, a failover) or never
                // answered, they did not.
                let reachedHandler = inbox.map { if case .done = $0.outcome { true } else { false } } ?? handlerRan
                failure.isInfrastructure = (failure.isInfrastructure && !reachedHandler) || Task.isCancelled
                // Races lost more often than the retries at once allow: a conflict, not a bad
                // message, so it waits for a later attempt (a constraint violation alone would
                // be dead-lettered at once).
                if Self.lostRace(error, declared: handlers.lostRaceConstraints) { failure.isRetriable = true }
                return failed(failure, envelope, attempt: attempt, logger: logger)
            }
        }
    }

    private func failed(_ failure: HandlingFailure, _ envelope: MessageEnvelope, attempt: Int = 1, logger: Logger? = nil) -> Outcome {
        metrics.count(.failed, consumer: consumer, type: envelope.type)
        (logger ?? self.logger).warning("message handling failed", metadata: [
            "message.id": "\(envelope.idString)", "message.type": "\(envelope.type)", "messaging.attempt": "\(attempt)",
            "error.type": "\(failure.errorType)", "error": "\(failure.message)", "error.retriable": "\(failure.isRetriable)",
        ])
        return .failed(failure)
    }

    private enum Guard {
        case taken(RedisLock?)
        case heldElsewhere
    }

    /// `SET NX PX` on (consumer, message id), so two replicas never work the same message at the
    /// same moment. Without Redis the inbox's primary key still keeps the effect single.
    private func takeGuard(_ envelope: MessageEnvelope) async -> Guard {
        guard let redis, let timeToLive = settings.guardTimeToLive else { return .taken(nil) }
        do {
            guard let lock = try await RedisLock.acquire(
                "emporium:inbox-guard:\(consumer):\(envelope.idString)", timeToLive: timeToLive, on: redis)
            else { return .heldElsewhere }
            return .taken(lock)
        } catch {
            logger.warning("inbox guard unavailable; relying on the inbox alone", metadata: ["error": "\(error)"])
            return .taken(nil)
        }
    }
}
