public import Foundation
public import ConnectionPool

/// One message as every transport carries it: identity, type and version, time, partitioning key,
/// the correlation chain, W3C trace context, and a JSON body.
///
/// On Kafka the fields are headers (names in ``EnvelopeHeader``), the key is the Kafka key and the
/// body the value. On AMQP they are the `message_id`, `type`, `correlation_id`, `content_type` and
/// `timestamp`-like properties plus headers. Either way `kcat` and `rabbitmqadmin` read and write
/// them; docs/messaging.md and docs/asyncapi.yaml list the headers.
public struct MessageEnvelope: Sendable, Hashable {
    /// Unique per message and kept through retries and replays, so the inbox can recognise it.
    public var id: UUID
    /// e.g. `order.created`.
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Date
    /// The partitioning key (order id, SKU): order is kept per key.
    public var key: String
    /// The id of the request or message that started the chain.
    public var correlationID: String
    /// The id of the message that caused this one, if any.
    public var causationID: String?
    /// W3C `traceparent`.
    public var traceParent: String?
    /// The JSON body.
    public var body: [UInt8]

    public init(
        id: UUID = .random(), type: String, schemaVersion: Int = 1, occurredAt: Date = Date(), key: String,
        correlationID: String? = nil, causationID: String? = nil, traceParent: String? = nil, body: [UInt8]
    ) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.key = key
        self.correlationID = correlationID ?? id.lowercasedText
        self.causationID = causationID
        self.traceParent = traceParent
        self.body = body
    }

    /// An envelope for a typed payload, encoded as JSON.
    public init<Payload: MessagePayload>(
        _ payload: Payload, id: UUID = .random(), key: String, occurredAt: Date = Date(),
        correlationID: String? = nil, causationID: String? = nil, traceParent: String? = nil
    ) throws {
        self.init(
            id: id, type: Payload.messageType, schemaVersion: Payload.schemaVersion, occurredAt: occurredAt, key: key,
            correlationID: correlationID, causationID: causationID, traceParent: traceParent,
            body: try MessageJSON.encode(payload))
    }

    /// The id as it appears on the wire (lower-case UUID).
    public var idString: String { id.lowercasedText }
}

/// Header names of the envelope and of the runtime's retry and dead-letter bookkeeping.
public enum EnvelopeHeader {
    public static let messageID = "message-id"
    public static let messageType = "message-type"
    public static let schemaVersion = "schema-version"
    public static let occurredAt = "occurred-at"
    /// AMQP only (Kafka uses its own key).
    public static let key = "message-key"
    public static let correlationID = "correlation-id"
    public static let causationID = "causation-id"
    public static let traceParent = "traceparent"
    public static let contentType = "content-type"

    /// Retries and dead letters.
    public static let attempts = "x-attempts"
    /// AMQP: how many times the message came back because the database was out of reach.
    public static let outages = "x-outages"
    public static let firstFailureAt = "x-first-failure-at"
    public static let lastFailureAt = "x-last-failure-at"
    public static let errorType = "x-error-type"
    public static let errorMessage = "x-error-message"
    public static let consumer = "x-consumer"
    public static let originTopic = "x-origin-topic"
    public static let originPartition = "x-origin-partition"
    public static let originOffset = "x-origin-offset"
    public static let originQueue = "x-origin-queue"
    /// Delays (AMQP): when the message is due, in milliseconds since the epoch.
    public static let deliverAt = "x-deliver-at"

    /// Headers the runtime adds on the way to a dead-letter destination, dropped again on replay.
    public static let deadLetterHeaders: Set<String> = [
        errorType, errorMessage, consumer, originTopic, originPartition, originOffset, originQueue,
        attempts, outages, firstFailureAt, lastFailureAt, deliverAt,
    ]
}

/// JSON as the runtime writes and reads it.
public enum MessageJSON {
    // One of each, shared: their options are set here once and only read while coding (under the
    // coder's own lock), and a coder made per message cost an allocation and its setup every time.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try decoder.decode(type, from: Data(bytes))
    }
}

/// Times on the wire: RFC 3339 with milliseconds, UTC.
enum WireTime {
    /// Milliseconds, truncated, `Z`, as Foundation's `ISO8601FormatStyle` with fractional seconds
    /// writes them (from the time rounded to the microsecond; see ``TimestampText/Fraction``),
    /// written by hand (``TimestampText``; per message in the relay).
    static func format(_ date: Date) -> String {
        TimestampText.format(date, separator: "T", fraction: .milliseconds, zone: "Z")
    }

    /// RFC 3339 with a `T` and a zone, with or without a fraction; the rare other spellings
    /// Foundation's ISO 8601 style reads are left to it.
    static func parse(_ text: String) -> Date? {
        TimestampText.parse(Substring(text), allowsSpace: false, requiresZone: true)
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
