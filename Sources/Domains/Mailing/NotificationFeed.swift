import ConnectionPool
import Contracts
import MailingCore
public import Foundation
import HTTPRuntime
public import Messaging
public import Postgres

/// What each customer was told: every mail the worker sends, and an in-app notification for each
/// status change of their orders (from the order topic). One row per causing message, so a
/// redelivered or replayed event adds nothing.
public struct NotificationFeed: Sendable {
    let database: PostgresRouter

    public init(database: PostgresRouter) {
        self.database = database
    }

    // MARK: - Recording (the mail worker)

    /// The order topic's handlers: the order's owner is learnt from `order.created` (same key,
    /// same partition, so it comes first), and each status change becomes a notification.
    public static var orderHandlers: MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(OrderCreated.self) { event, context in
            try await context.connection.execute("""
                INSERT INTO mailing.order_owners (order_id, customer_id) VALUES (\(event.orderID), \(event.customerID))
                ON CONFLICT (order_id) DO NOTHING
                """)
            try await record(event.orderID, .created, context: context)
        }
        handlers.on(OrderPaid.self) { event, context in try await record(event.orderID, .paid, context: context) }
        handlers.on(OrderCancelled.self) { event, context in try await record(event.orderID, .cancelled(reason: event.reason), context: context) }
        handlers.on(OrderCompleted.self) { event, context in try await record(event.orderID, .completed, context: context) }
        return handlers
    }

    private static func record(_ orderID: UUID, _ event: NotificationRules.OrderEvent, context: MessageContext) async throws {
        let notice = NotificationRules.notice(for: event)
        guard let owner = try await context.connection.query(
            "SELECT customer_id FROM mailing.order_owners WHERE order_id = \(orderID)").first.map({ try $0.decode("customer_id", as: String.self) })
        else {
            // An order placed before this worker kept owners: nobody to tell.
            context.logger.debug("no owner known for the order; no notification", metadata: ["order.id": "\(orderID)"])
            return
        }
        try await context.connection.execute("""
            INSERT INTO mailing.notifications (id, customer_id, kind, title, body, order_id, order_status, source_message_id, occurred_at)
            VALUES (\(UUID.random()), \(owner), 'order_status', \(notice.title), \(notice.body), \(orderID), \(notice.status), \(context.envelope.id),
                \(context.envelope.occurredAt))
            ON CONFLICT (source_message_id) DO NOTHING
            """)
    }

    /// A mail about to be sent, as a notification of its customer (its delivery state is the
    /// mail's row).
    static func recordMail(_ mailID: UUID, command: MailSend, subject: String, occurredAt: Date, on database: PostgresPool) async throws {
        try await database.execute("""
            INSERT INTO mailing.notifications (id, customer_id, kind, title, order_id, mail_id, source_message_id, occurred_at)
            VALUES (\(UUID.random()), \(command.customerID), 'mail', \(subject), \(command.orderID), \(mailID), \(mailID), \(occurredAt))
            ON CONFLICT (source_message_id) DO NOTHING
            """)
    }

    // MARK: - Reading (the API)

    public struct Notification: Codable, Sendable {
        public var id: UUID
        /// `mail` or `order_status`.
        public var kind: String
        public var title: String
        public var body: String
        public var orderId: UUID?
        public var orderStatus: String?
        public var occurredAt: Date
        public var read: Bool
        /// For admins: how the mail went.
        public var delivery: Delivery?
    }

    public struct Delivery: Codable, Sendable {
        public var state: String
        public var attempts: Int
        public var lastError: String?
        public var sentAt: Date?
        public var failedAt: Date?
    }

    public struct FeedPage: Codable, Sendable {
        public var items: [Notification]
        public var nextCursor: String?
        /// The customer's unread notifications, all pages.
        public var unread: Int
    }

    /// The customer's notifications, newest first; `withDelivery` adds each mail's state (admins).
    public func feed(of customerID: String, limit: Int, after cursor: UUID?, withDelivery: Bool = false) async throws -> FeedPage {
        try await database.withPrimary { connection in
            let rows = try await connection.query("""
                SELECT n.id, n.kind, n.title, n.body, n.order_id, n.order_status, n.occurred_at, n.read_at IS NOT NULL AS read,
                    m.state, m.attempts, m.last_error, m.sent_at, m.failed_at
                FROM mailing.notifications n LEFT JOIN mailing.mails m ON m.id = n.mail_id
                WHERE n.customer_id = \(customerID)
                  AND (\(cursor)::uuid IS NULL OR (n.occurred_at, n.id) < (
                      SELECT occurred_at, id FROM mailing.notifications WHERE id = \(cursor)::uuid AND customer_id = \(customerID)))
                ORDER BY n.occurred_at DESC, n.id DESC
                LIMIT \(unescaped: String(limit + 1))
                """)
            let fetched = try rows.map { row in
                let state: String? = try row.decode("state")
                return Notification(
                    id: try row.decode("id"), kind: try row.decode("kind"), title: try row.decode("title"), body: try row.decode("body"),
                    orderId: try row.decode("order_id"), orderStatus: try row.decode("order_status"), occurredAt: try row.decode("occurred_at"),
                    read: try row.decode("read"),
                    delivery: withDelivery ? try state.map { state in
                        Delivery(
                            state: state, attempts: try row.decode("attempts"), lastError: try row.decode("last_error"),
                            sentAt: try row.decode("sent_at"), failedAt: try row.decode("failed_at"))
                    } : nil)
            }
            let page = Page(fetched: fetched, limit: limit) { $0.id.uuidString.lowercased() }
            let unread: Int = try await connection.query("""
                SELECT count(*)::integer AS unread FROM mailing.notifications WHERE customer_id = \(customerID) AND read_at IS NULL
                """).first?.decode("unread") ?? 0
            return FeedPage(items: page.items, nextCursor: page.nextCursor, unread: unread)
        }
    }

    /// Marks the customer's notification read; false if it is not theirs (or does not exist).
    public func markRead(_ id: UUID, customerID: String) async throws -> Bool {
        try await database.withPrimary { connection in
            try await connection.execute("""
                UPDATE mailing.notifications SET read_at = COALESCE(read_at, now()) WHERE id = \(id) AND customer_id = \(customerID)
                """) == 1
        }
    }
}
