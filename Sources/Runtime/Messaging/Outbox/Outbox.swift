import ConnectionPool
public import Postgres

/// Where the relay publishes an outbox message.
public struct MessageDestination: Sendable, Hashable, CustomStringConvertible {
    /// Kafka or AMQP.
    public struct Transport: Sendable, Hashable {
        public let rawValue: String
        public static let kafka = Transport(rawValue: "kafka")
        public static let amqp = Transport(rawValue: "amqp")
    }

    public let transport: Transport
    /// The Kafka topic, or the routing key on the AMQP work exchange.
    public let name: String
    /// AMQP only: delivered this long after it is published, through the delay queues.
    public let delay: Duration

    /// A Kafka topic; the envelope's key picks the partition.
    public static func kafka(_ topic: String) -> MessageDestination {
        MessageDestination(transport: .kafka, name: topic, delay: .zero)
    }

    /// A routing key on the AMQP work exchange, optionally delayed.
    public static func amqp(_ routingKey: String, delay: Duration = .zero) -> MessageDestination {
        MessageDestination(transport: .amqp, name: routingKey, delay: delay)
    }

    public var description: String { "\(transport.rawValue):\(name)" + (delay > .zero ? " after \(delay)" : "") }
}

/// A message waiting in the outbox.
public struct OutboxMessage: Sendable {
    public var envelope: MessageEnvelope
    public var destination: MessageDestination
    /// Rows of one aggregate are published in the order they were appended; by default the key.
    public var aggregate: String
    /// The body holds a secret: the relay empties it as it marks the row sent.
    public var secret: Bool

    public init(_ envelope: MessageEnvelope, to destination: MessageDestination, aggregate: String? = nil, secret: Bool = false) {
        self.envelope = envelope
        self.destination = destination
        self.aggregate = aggregate ?? envelope.key
        self.secret = secret
    }
}

/// The transactional outbox: events are appended with the caller's state change, in the caller's
/// transaction, and the relay (``OutboxRelay``) publishes them after the commit. A rolled-back
/// transaction leaves no event behind; a committed one always gets published.
///
/// The rows of one aggregate go out in id order, and ids are taken at append, so two
/// transactions appending for the same aggregate must not overlap: append after the write that
/// locks the aggregate's row (the status update, the stock change), as domain code does anyway.
public enum Outbox {
    /// Appends `messages` on `connection`, which should be inside the caller's transaction
    /// (`withTransaction`). One round trip, whatever the count.
    public static func append(_ messages: [OutboxMessage], on connection: PostgresConnection, table: String = defaultTable) async throws {
        guard !messages.isEmpty else { return }
        // Inside a transaction the insert goes out with the next statement or the COMMIT.
        try await connection.executeDeferred(insert(messages, table: table))
    }

    /// Appends one message; see ``append(_:on:table:)``.
    public static func append(_ message: OutboxMessage, on connection: PostgresConnection, table: String = defaultTable) async throws {
        try await append([message], on: connection, table: table)
    }

    /// The outbox table (migration 0002). Another table of the same shape can serve as a
    /// separate outbox, with a relay of its own.
    public static let defaultTable = "messaging.outbox"

    /// The columns both inserts below fill, in the order of their values.
    static let columns = """
        aggregate, transport, destination, message_id, message_type, schema_version, message_key, correlation_id,
            causation_id, traceparent, occurred_at, body, delay_ms, secret
        """

    /// Up to this many messages go in as `VALUES` rows (one statement per count, prepared on each
    /// connection); more, as the arrays below (one statement whatever the count).
    static let valuesRowLimit = 8

    static func insert(_ messages: [OutboxMessage], table: String) -> PostgresQuery {
        if messages.count <= valuesRowLimit { return insertRows(messages, table: table) }
        func column(_ value: (OutboxMessage) -> String) -> [String] { messages.map(value) }
        let aggregates = column(\.aggregate)
        let transports = column(\.destination.transport.rawValue)
        let destinations = column(\.destination.name)
        let ids = column(\.envelope.idString)
        let types = column(\.envelope.type)
        let versions = column { String($0.envelope.schemaVersion) }
        let keys = column(\.envelope.key)
        let correlations = column(\.envelope.correlationID)
        let causations = column { $0.envelope.causationID ?? "" }
        let traces = column { $0.envelope.traceParent ?? "" }
        let times = messages.map(\.envelope.occurredAt)
        let bodies = column { String(decoding: $0.envelope.body, as: UTF8.self) }
        let delays = column { String($0.destination.delay.wholeMilliseconds) }
        let secrets = messages.map(\.secret)
        return """
            INSERT INTO \(unescaped: table) (\(unescaped: columns))
            SELECT a, t, d, i::uuid, ty, v::integer, k, c, NULLIF(ca, ''), NULLIF(tr, ''), o, b::jsonb, dl::bigint, s
            FROM unnest(\(aggregates)::text[], \(transports)::text[], \(destinations)::text[], \(ids)::text[],
                \(types)::text[], \(versions)::text[], \(keys)::text[], \(correlations)::text[], \(causations)::text[],
                \(traces)::text[], \(times)::timestamptz[], \(bodies)::text[], \(delays)::text[], \(secrets)::boolean[])
                AS m(a, t, d, i, ty, v, k, c, ca, tr, o, b, dl, s)
            """
    }

    /// A few messages, what most transactions append (an order's creation: its event and its first
    /// timer): one `VALUES` row each. Its text parameters are sent untyped and take their columns'
    /// types (uuid, jsonb); the integers are int8, stored through the int8 → integer assignment cast
    /// for `schema_version`. Cheaper for us to encode than the arrays above (fourteen array
    /// literals, the bodies' quotes escaped byte by byte: 3 % of the API's CPU at 170 orders a
    /// second), and for one row, for the server to parse, plan and run. The same rows as the
    /// arrays store: an empty causation or trace context becomes NULL.
    static func insertRows(_ messages: [OutboxMessage], table: String) -> PostgresQuery {
        func nonEmpty(_ text: String?) -> String? { text?.isEmpty == false ? text : nil }
        var statement = PostgresQuery.StringInterpolation(literalCapacity: 200 + 60 * messages.count, interpolationCount: 14 * messages.count)
        statement.appendLiteral("INSERT INTO ")
        statement.appendInterpolation(unescaped: table)
        statement.appendLiteral(" (")
        statement.appendInterpolation(unescaped: columns)
        statement.appendLiteral(") VALUES ")
        for (index, message) in messages.enumerated() {
            let envelope = message.envelope
            var separator = index == 0 ? "(" : ", ("
            func bind<Value: PostgresEncodable>(_ value: Value?) {
                statement.appendLiteral(separator)
                separator = ", "
                statement.appendInterpolation(value)
            }
            bind(message.aggregate)
            bind(message.destination.transport.rawValue)
            bind(message.destination.name)
            bind(envelope.idString)
            bind(envelope.type)
            bind(envelope.schemaVersion)
            bind(envelope.key)
            bind(envelope.correlationID)
            bind(nonEmpty(envelope.causationID))
            bind(nonEmpty(envelope.traceParent))
            bind(envelope.occurredAt)
            bind(String(decoding: envelope.body, as: UTF8.self))
            bind(message.destination.delay.wholeMilliseconds)
            bind(message.secret)
            statement.appendLiteral(")")
        }
        return PostgresQuery(stringInterpolation: statement)
    }
}
