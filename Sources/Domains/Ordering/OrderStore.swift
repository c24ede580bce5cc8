public import DomainKit
public import Foundation
public import Messaging
public import OrderingCore
public import Postgres

/// The ordering schema's SQL, on a connection the caller holds (a request's transaction or a
/// message's inbox transaction).
public enum OrderStore {
    /// Why a transition happened: the request or message that caused it, and who acted.
    public struct Cause: Sendable, Hashable {
        public var kind: String
        public var id: String
        public var actor: String
        public var correlationID: String
        /// The traceparent the caused messages carry (a new span of the cause's trace).
        public var traceParent: String?

        public static func request(_ requestID: String, correlationID: String, traceParent: String? = nil, actor: String) -> Cause {
            Cause(kind: "request", id: requestID, actor: actor, correlationID: correlationID, traceParent: traceParent)
        }

        public static func message(_ envelope: MessageEnvelope, actor: String) -> Cause {
            Cause(kind: "message", id: envelope.idString, actor: actor, correlationID: envelope.correlationID, traceParent: envelope.traceParent)
        }
    }

    static let orderColumns = """
        o.id, o.customer_id, o.status, o.cancel_reason, o.stock, o.stock_decided_at, o.currency, o.total_minor, o.created_at, o.updated_at,
        (SELECT json_agg(json_build_object('sku', l.sku, 'name', l.name, 'quantity', l.quantity,
                'unitPriceMinor', l.unit_price_minor, 'lineTotalMinor', l.unit_price_minor * l.quantity) ORDER BY l.line_number)
         FROM ordering.order_lines l WHERE l.order_id = o.id)::text AS lines
        """

    /// The order with its lines, if `customerID` may see it (`nil`: anyone, for admins and workers).
    public static func order(_ id: UUID, visibleTo customerID: String?, on connection: PostgresConnection) async throws -> Order? {
        let rows = try await connection.query("""
            SELECT \(unescaped: orderColumns) FROM ordering.orders o
            WHERE o.id = \(id) AND (\(customerID)::text IS NULL OR o.customer_id = \(customerID)::text)
            """)
        return try rows.first.map(order)
    }

    /// A page of a customer's orders, newest first. The cursor is the last order id of the
    /// previous page.
    public static func orders(of customerID: String, limit: Int, after cursor: UUID?, on connection: PostgresConnection) async throws -> Page<Order> {
        let rows = try await connection.query("""
            SELECT \(unescaped: orderColumns) FROM ordering.orders o
            WHERE o.customer_id = \(customerID)
              AND (\(cursor)::uuid IS NULL OR (o.created_at, o.id) < (
                  SELECT created_at, id FROM ordering.orders WHERE id = \(cursor)::uuid AND customer_id = \(customerID)))
            ORDER BY o.created_at DESC, o.id DESC
            LIMIT \(unescaped: String(limit + 1))
            """)
        return Page(fetched: try rows.map(order), limit: limit) { $0.id.uuidString.lowercased() }
    }

    /// The order's row, locked for a transition, as its rules read it.
    static func lock(_ id: UUID, on connection: PostgresConnection) async throws -> OrderState? {
        // Whether a checkout placed the order, in the same round trip: the key's row says so
        // (migration 0007) while it is kept; after its retention no cart refers to the key either.
        let rows = try await connection.query("""
            SELECT status, customer_id, stock, reminders_sent, created_at,
                EXISTS (SELECT 1 FROM ordering.idempotency_keys k WHERE k.order_id = o.id AND k.from_checkout) AS from_checkout
            FROM ordering.orders o WHERE id = \(id) FOR UPDATE OF o
            """)
        guard let row = rows.first else { return nil }
        return OrderState(
            customerID: try row.decode("customer_id"), status: try decode(row, "status"), stock: try decode(row, "stock"),
            remindersSent: try row.decode("reminders_sent"), createdAt: try row.decode("created_at"),
            fromCheckout: try row.decode("from_checkout"))
    }

    /// Sets the status of a locked order and records the transition with its cause.
    static func transition(
        _ id: UUID, from previous: OrderStatus, to next: OrderStatus, reason: CancelReason? = nil, cause: Cause,
        on connection: PostgresConnection
    ) async throws {
        try await connection.execute("""
            WITH changed AS (
                UPDATE ordering.orders SET status = \(next.rawValue), cancel_reason = \(reason?.rawValue)::text, updated_at = now()
                WHERE id = \(id) RETURNING id
            )
            INSERT INTO ordering.status_history (order_id, from_status, to_status, reason, cause_kind, cause_id, actor)
            SELECT id, \(previous.rawValue), \(next.rawValue), \(reason?.rawValue)::text, \(cause.kind), \(cause.id), \(cause.actor) FROM changed
            """)
    }

    static func order(_ row: PostgresRow) throws -> Order {
        let lines = try row.decode("lines", as: String?.self).map {
            try JSONDecoder().decode([OrderLine].self, from: Data($0.utf8))
        } ?? []
        return Order(
            id: try row.decode("id"), customerId: try row.decode("customer_id"), status: try decode(row, "status"),
            cancelReason: try row.decode("cancel_reason", as: String?.self).map { try decode($0, "cancel_reason") }, stock: try decode(row, "stock"),
            stockDecidedAt: try row.decode("stock_decided_at"), currency: try row.decode("currency"),
            totalMinor: try row.decode("total_minor"), lines: lines, createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"))
    }

    /// A column holding one of a typed state's values; another value is a schema the code does
    /// not know, reported with the column's name.
    static func decode<Value: RawRepresentable<String>>(_ row: PostgresRow, _ column: String, as type: Value.Type = Value.self) throws -> Value {
        try decode(try row.decode(column, as: String.self), column)
    }

    static func decode<Value: RawRepresentable<String>>(_ text: String, _ column: String) throws -> Value {
        guard let value = Value(rawValue: text) else { throw UnknownValue(column: column, value: text) }
        return value
    }

    struct UnknownValue: Error, CustomStringConvertible {
        var column: String
        var value: String
        var description: String { "ordering.orders.\(column) holds \"\(value)\", which this version does not know" }
    }
}
