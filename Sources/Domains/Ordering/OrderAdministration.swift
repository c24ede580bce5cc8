public import DomainKit
public import Foundation
public import OrderingCore
public import Postgres

/// Admin control of orders: every order, filtered; one order with its history and the messages
/// behind each transition; cancel anything not completed; complete a paid order early. Each action
/// is recorded with the admin as its actor and mails the customer.
public struct OrderAdministration: Sendable {
    let database: PostgresRouter
    let clock: any WallClock

    public init(database: PostgresRouter, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    /// `GET /admin/orders` filters.
    public struct Filter: Sendable {
        public var status: OrderStatus?
        public var customerID: String?
        public var from: Date?
        public var to: Date?

        public init(status: OrderStatus? = nil, customerID: String? = nil, from: Date? = nil, to: Date? = nil) {
            self.status = status
            self.customerID = customerID
            self.from = from
            self.to = to
        }
    }

    /// One transition and what caused it.
    public struct Transition: Codable, Sendable {
        public var from: OrderStatus?
        public var to: OrderStatus
        public var reason: CancelReason?
        public var at: Date
        /// `request` or `message`.
        public var causeKind: String
        /// The request id, or the message id.
        public var causeId: String
        /// The message's type, for a message the order worker handled.
        public var messageType: String?
        /// Who: `customer:<id>`, `admin:<id>`, or the worker.
        public var actor: String
    }

    public struct Detail: Codable, Sendable {
        public var order: Order
        public var history: [Transition]
    }

    /// Every order matching `filter`, newest first, a page at a time (from the primary: admins act
    /// on what they see).
    public func orders(_ filter: Filter, limit: Int, after cursor: UUID?) async throws -> Page<Order> {
        try await database.withPrimary { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: OrderStore.orderColumns) FROM ordering.orders o
                WHERE (\(filter.status?.rawValue)::text IS NULL OR o.status = \(filter.status?.rawValue)::text)
                  AND (\(filter.customerID)::text IS NULL OR o.customer_id = \(filter.customerID)::text)
                  AND (\(filter.from)::timestamptz IS NULL OR o.created_at >= \(filter.from)::timestamptz)
                  AND (\(filter.to)::timestamptz IS NULL OR o.created_at < \(filter.to)::timestamptz)
                  AND (\(cursor)::uuid IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM ordering.orders WHERE id = \(cursor)::uuid))
                ORDER BY o.created_at DESC, o.id DESC
                LIMIT \(unescaped: String(limit + 1))
                """)
            return Page(fetched: try rows.map(OrderStore.order), limit: limit) { $0.id.uuidString.lowercased() }
        }
    }

    public func detail(_ id: UUID) async throws -> Detail {
        try await database.withPrimary { connection in
            guard let order = try await OrderStore.order(id, visibleTo: nil, on: connection) else { throw OrderRules.notFound(id) }
            return Detail(order: order, history: try await Self.histories(of: [id], on: connection)[id] ?? [])
        }
    }

    /// The histories of `ids` in one statement, each in the order it happened (orders with none
    /// are absent). Who may see which order is the caller's business.
    public func histories(of ids: Set<UUID>) async throws -> [UUID: [Transition]] {
        guard !ids.isEmpty else { return [:] }
        return try await database.withPrimary { connection in try await Self.histories(of: ids, on: connection) }
    }

    static func histories(of ids: Set<UUID>, on connection: PostgresConnection) async throws -> [UUID: [Transition]] {
        let rows = try await connection.query("""
            SELECT h.order_id, h.from_status, h.to_status, h.reason, h.at, h.cause_kind, h.cause_id, h.actor,
                (SELECT i.message_type FROM messaging.inbox i
                 WHERE i.consumer = 'worker-order'
                   AND i.message_id = CASE WHEN h.cause_kind = 'message' THEN h.cause_id::uuid END) AS message_type
            FROM ordering.status_history h WHERE h.order_id = ANY(\(Array(ids))::uuid[]) ORDER BY h.id
            """)
        var histories: [UUID: [Transition]] = [:]
        for row in rows {
            let transition = Transition(
                from: try row.decode("from_status", as: String?.self).map { try OrderStore.decode($0, "from_status") },
                to: try OrderStore.decode(row, "to_status"),
                reason: try row.decode("reason", as: String?.self).map { try OrderStore.decode($0, "reason") },
                at: try row.decode("at"), causeKind: try row.decode("cause_kind"), causeId: try row.decode("cause_id"),
                messageType: try row.decode("message_type"), actor: try row.decode("actor"))
            histories[try row.decode("order_id", as: UUID.self), default: []].append(transition)
        }
        return histories
    }

    /// PENDING or PAID -> CANCELLED (`admin`): `order.cancelled` releases the reservation (once,
    /// whatever else arrives), and the customer is mailed. A COMPLETED or CANCELLED order: 409.
    public func cancel(_ id: UUID, cause: OrderStore.Cause) async throws -> Order {
        try await OrderService.handle(.cancelAsAdmin, id, cause: cause, database: database, clock: clock)
    }

    /// PAID -> COMPLETED before the expiry would (fulfilled): `order.completed` sells the units,
    /// and the customer is mailed. Anything else: 409.
    public func complete(_ id: UUID, cause: OrderStore.Cause) async throws -> Order {
        try await OrderService.handle(.completeAsAdmin, id, cause: cause, database: database, clock: clock)
    }
}
