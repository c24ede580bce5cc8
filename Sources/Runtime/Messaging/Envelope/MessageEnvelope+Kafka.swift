import Foundation
import ConnectionPool
public import Kafka

extension MessageEnvelope {
    /// Reads the envelope from a consumed Kafka message. Required: the `message-id` (a UUID) and
    /// `message-type` headers. `schema-version` defaults to 1, `occurred-at` to the broker's
    /// timestamp, `correlation-id` to the message id. A malformed value is a poison message.
    public init(kafka message: KafkaMessage) throws(MessagingError) {
        func header(_ name: String) -> String? { message.header(name) }
        try self.init(
            header: header, key: message.keyString ?? "", body: message.value,
            fallbackTime: message.timestamp.map { Date(timeIntervalSince1970: Double($0) / 1000) })
    }

    /// The envelope as a Kafka message: the key is the envelope's key, the value its body.
    public func kafkaMessage(topic: String, extraHeaders: [KafkaHeader] = []) -> KafkaOutgoingMessage {
        var headers = [
            KafkaHeader(name: EnvelopeHeader.messageID, value: idString),
            KafkaHeader(name: EnvelopeHeader.messageType, value: type),
            KafkaHeader(name: EnvelopeHeader.schemaVersion, value: String(schemaVersion)),
            KafkaHeader(name: EnvelopeHeader.occurredAt, value: WireTime.format(occurredAt)),
            KafkaHeader(name: EnvelopeHeader.correlationID, value: correlationID),
            KafkaHeader(name: EnvelopeHeader.contentType, value: "application/json"),
        ]
        if let causationID { headers.append(KafkaHeader(name: EnvelopeHeader.causationID, value: causationID)) }
        if let traceParent { headers.append(KafkaHeader(name: EnvelopeHeader.traceParent, value: traceParent)) }
        return KafkaOutgoingMessage(topic: topic, key: Array(key.utf8), value: body, headers: headers + extraHeaders)
    }

    /// The shared reading of envelope fields from named text values (Kafka headers, AMQP
    /// properties and headers).
    init(
        header: (String) -> String?, key: String, body: [UInt8], fallbackTime: Date?
    ) throws(MessagingError) {
        guard let idText = header(EnvelopeHeader.messageID), !idText.isEmpty else {
            throw MessagingError(.poisonMessage, "missing header \(EnvelopeHeader.messageID)")
        }
        guard let id = UUID(text: Substring(idText)) else {
            throw MessagingError(.poisonMessage, "header \(EnvelopeHeader.messageID) is not a UUID: \"\(idText.prefix(64))\"")
        }
        guard let type = header(EnvelopeHeader.messageType), !type.isEmpty else {
            throw MessagingError(.poisonMessage, "missing header \(EnvelopeHeader.messageType)")
        }
        var schemaVersion = 1
        if let text = header(EnvelopeHeader.schemaVersion) {
            guard let value = Int(text), value >= 1 else {
                throw MessagingError(.poisonMessage, "header \(EnvelopeHeader.schemaVersion) is not a positive integer: \"\(text.prefix(32))\"")
            }
            schemaVersion = value
        }
        var occurredAt = fallbackTime ?? Date()
        if let text = header(EnvelopeHeader.occurredAt) {
            guard let value = WireTime.parse(text) else {
                throw MessagingError(.poisonMessage, "header \(EnvelopeHeader.occurredAt) is not an RFC 3339 time: \"\(text.prefix(64))\"")
            }
            occurredAt = value
        }
        self.init(
            id: id, type: type, schemaVersion: schemaVersion, occurredAt: occurredAt, key: key,
            correlationID: header(EnvelopeHeader.correlationID), causationID: header(EnvelopeHeader.causationID),
            traceParent: header(EnvelopeHeader.traceParent), body: body)
    }
}
