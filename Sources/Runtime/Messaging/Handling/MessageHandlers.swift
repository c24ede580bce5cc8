/// The handlers of one consumer, by message type. Types without a handler are skipped (a topic
/// carries several types, and a consumer needs only some).
public struct MessageHandlers: Sendable {
    private var handlers: [String: AnyMessageHandler] = [:]
    /// Constraints whose violation at a handler's commit means it lost a race (see
    /// ``decideAgain(whenViolated:)``).
    private(set) var lostRaceConstraints: Set<String> = []

    public init() {}

    /// Declares that a violation of `constraint` by a handler's transaction is a lost race, not a
    /// failure: the handler decided on rows it read unlocked, a concurrent transaction changed
    /// them before its commit, and the constraint refused the result (a reservation's
    /// `stock_available_check`, say). Nothing of the transaction stays; the processor runs the
    /// message again at once, on the rows as they are now, without using up an attempt (up to
    /// ``MessageProcessor/lostRaceRetries`` times; then it counts as a failed attempt, retried
    /// later like a transient failure, not dead-lettered as a bad message). Counted
    /// as `messaging_messages_total{outcome="race_lost"}`.
    public mutating func decideAgain(whenViolated constraint: String) {
        lostRaceConstraints.insert(constraint)
    }

    /// Registers `handler` for its payload's message type, replacing an earlier one.
    public mutating func register<Handler: MessageHandler>(_ handler: Handler) {
        handlers[Handler.Payload.messageType] = AnyMessageHandler(handler)
    }

    /// Registers a closure for `type`.
    public mutating func on<Payload: MessagePayload>(
        _ type: Payload.Type, _ body: @escaping @Sendable (Payload, MessageContext) async throws -> Void
    ) {
        register(ClosureMessageHandler(type, body))
    }

    /// Adds `other`'s handlers (one consumer serving two sets of types); `other` wins a clash.
    public mutating func merge(_ other: MessageHandlers) {
        handlers.merge(other.handlers) { _, new in new }
        lostRaceConstraints.formUnion(other.lostRaceConstraints)
    }

    /// The registered message types.
    public var types: [String] { handlers.keys.sorted() }

    func handler(for type: String) -> AnyMessageHandler? { handlers[type] }
}

/// A handler with its payload type erased: decoding is a separate step, so that a message that
/// does not decode is known to be poison before any transaction starts.
struct AnyMessageHandler: Sendable {
    typealias Prepared = @Sendable (MessageContext) async throws -> Void
    let prepare: @Sendable (MessageEnvelope) throws(MessagingError) -> Prepared

    init<Handler: MessageHandler>(_ handler: Handler) {
        prepare = { envelope throws(MessagingError) in
            guard envelope.schemaVersion <= Handler.Payload.schemaVersion else {
                throw MessagingError(
                    .unsupportedSchemaVersion,
                    "\(envelope.type) version \(envelope.schemaVersion); this consumer understands up to \(Handler.Payload.schemaVersion)")
            }
            let payload: Handler.Payload
            do {
                payload = try MessageJSON.decode(Handler.Payload.self, from: envelope.body)
            } catch {
                throw MessagingError(.poisonMessage, "the body is not a valid \(envelope.type): \(error)")
            }
            return { context in try await handler.handle(payload, context: context) }
        }
    }
}
