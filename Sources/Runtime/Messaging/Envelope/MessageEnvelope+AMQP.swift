public import AMQP
import Foundation

extension MessageEnvelope {
    /// Reads the envelope from an AMQP delivery: `message_id` and `type` from the properties (or
    /// the `message-id` and `message-type` headers), `correlation_id` likewise, the rest from
    /// headers. The key defaults to the message id.
    public init(amqp delivery: AMQPDelivery) throws(MessagingError) {
        let headers = delivery.headers
        func header(_ name: String) -> String? {
            switch name {
            case EnvelopeHeader.messageID: if let value = delivery.messageID, !value.isEmpty { return value }
            case EnvelopeHeader.messageType: if let value = delivery.type, !value.isEmpty { return value }
            case EnvelopeHeader.correlationID: if let value = delivery.correlationID, !value.isEmpty { return value }
            default: break
            }
            return headers[name]?.text
        }
        try self.init(header: header, key: header(EnvelopeHeader.key) ?? "", body: delivery.body, fallbackTime: nil)
        if key.isEmpty { key = idString }
    }

    /// The envelope as an AMQP message to `exchange` with `routingKey`.
    public func amqpMessage(
        exchange: String, routingKey: String, extraHeaders: [String: AMQPFieldValue] = [:]
    ) -> AMQPOutgoingMessage {
        var headers: [String: AMQPFieldValue] = [
            EnvelopeHeader.schemaVersion: .integer(Int64(schemaVersion)),
            EnvelopeHeader.occurredAt: .string(WireTime.format(occurredAt)),
            EnvelopeHeader.key: .string(key),
        ]
        if let causationID { headers[EnvelopeHeader.causationID] = .string(causationID) }
        if let traceParent { headers[EnvelopeHeader.traceParent] = .string(traceParent) }
        headers.merge(extraHeaders) { _, extra in extra }
        return AMQPOutgoingMessage(
            exchange: exchange, routingKey: routingKey, body: body, messageID: idString,
            contentType: "application/json", type: type, correlationID: correlationID, headers: headers)
    }
}

extension AMQPFieldValue {
    /// The value as text, whatever its type.
    public var text: String {
        switch self {
        case .string(let value): value
        case .integer(let value): String(value)
        case .boolean(let value): String(value)
        }
    }
}
