public import Logging
public import Postgres

/// Handles one message type. `handle` runs inside the consumer's inbox transaction: whatever it
/// writes through `context.connection`, and the events it appends with `context.publish`, commit
/// together with the inbox record, or not at all.
public protocol MessageHandler: Sendable {
    associatedtype Payload: MessagePayload
    func handle(_ payload: Payload, context: MessageContext) async throws
}

/// What a handler gets besides its payload.
public struct MessageContext: Sendable {
    public let envelope: MessageEnvelope
    /// The consuming service's name (the inbox's `consumer`).
    public let consumer: String
    /// 1 for the first try.
    public let attempt: Int
    /// The connection of the inbox transaction.
    public let connection: PostgresConnection
    public let logger: Logger

    /// Appends a follow-up event to the outbox in this transaction, caused by this message and
    /// carrying its correlation id and trace context (the same trace, a new span).
    public func publish<Payload: MessagePayload>(
        _ payload: Payload, key: String, to destination: MessageDestination, aggregate: String? = nil
    ) async throws {
        let envelope = try MessageEnvelope(
            payload, key: key, correlationID: envelope.correlationID, causationID: envelope.idString,
            traceParent: TracePropagation.outgoing(parent: envelope.traceParent))
        try await Outbox.append(OutboxMessage(envelope, to: destination, aggregate: aggregate, secret: payload.carriesSecret), on: connection)
    }
}

/// A handler built from a closure.
public struct ClosureMessageHandler<Payload: MessagePayload>: MessageHandler {
    let body: @Sendable (Payload, MessageContext) async throws -> Void

    public init(_ type: Payload.Type = Payload.self, _ body: @escaping @Sendable (Payload, MessageContext) async throws -> Void) {
        self.body = body
    }

    public func handle(_ payload: Payload, context: MessageContext) async throws {
        try await body(payload, context)
    }
}
