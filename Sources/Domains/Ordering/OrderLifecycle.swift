import Contracts
import Foundation
import Logging
public import Messaging
import Postgres

/// The order worker's handlers: the catalog copy, the product worker's stock decisions, and the
/// delayed reminders and expiry. Each runs in the consumer's inbox transaction; a transition is a
/// compare-and-set on the locked order row, so a message that finds the order already moved on
/// (paid before its reminder, cancelled before its expiry) changes nothing and sends nothing.
public enum OrderLifecycle {
    static let actor = "worker-order"

    /// Every handler of the order worker: Kafka (`product.*`, `stock.*`) and AMQP (reminders,
    /// expiry) share one processor and one inbox. `timings` place each reminder's successor.
    public static func handlers(timings: OrderTimings) -> MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(ProductCreated.self) { event, context in try await copy(event.product, context: context) }
        handlers.on(ProductUpdated.self) { event, context in try await copy(event.product, context: context) }
        handlers.on(ProductDeleted.self, deleteCopy)
        handlers.on(StockReserved.self, stockReserved)
        handlers.on(StockRejected.self, stockRejected)
        handlers.on(PaymentReminderDue.self) { event, context in try await remind(event, timings: timings, context: context) }
        handlers.on(OrderExpiryDue.self, expire)
        return handlers
    }

    // MARK: - Catalog copy

    /// Upserts the product unless the copy already has this version or a newer one.
    static func copy(_ product: ProductSnapshot, context: MessageContext) async throws {
        try await context.connection.execute("""
            INSERT INTO ordering.catalog (sku, name, price_minor, currency, version, deleted)
            VALUES (\(product.sku), \(product.name), \(product.priceMinor), \(product.currency), \(product.version), false)
            ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor,
                currency = excluded.currency, version = excluded.version, deleted = false, updated_at = now()
            WHERE ordering.catalog.version < excluded.version
            """)
    }

    static func deleteCopy(_ event: ProductDeleted, context: MessageContext) async throws {
        try await context.connection.execute("""
            INSERT INTO ordering.catalog (sku, name, price_minor, currency, version, deleted)
            VALUES (\(event.sku), '', 0, 'XXX', \(event.version), true)
            ON CONFLICT (sku) DO UPDATE SET deleted = true, version = excluded.version, updated_at = now()
            WHERE ordering.catalog.version < excluded.version
            """)
    }

    // MARK: - Stock decisions

    /// Records the reservation and, for a PENDING order, mails the confirmation.
    static func stockReserved(_ event: StockReserved, context: MessageContext) async throws {
        guard let order = try await recordDecision("reserved", of: event.orderID, context: context) else { return }
        // A checkout's cart has become this order: it is emptied.
        try await CartStore.orderReserved(event.orderID, on: context.connection)
        guard order.status == .pending else { return }
        try await OrderMessages.mail(
            .orderConfirmation, to: order.customerID, orderID: event.orderID, cause: cause(context), on: context.connection)
    }

    /// PENDING -> CANCELLED (`out_of_stock`), with the shortages in the customer's mail.
    static func stockRejected(_ event: StockRejected, context: MessageContext) async throws {
        guard let order = try await recordDecision("rejected", of: event.orderID, context: context) else { return }
        // A checkout's cart opens again with the short lines marked, to be fixed and checked out again.
        try await CartStore.orderRejected(event.orderID, shortages: event.shortages, on: context.connection)
        guard order.status == .pending else { return }
        let shortages = event.shortages.map { "\($0.sku): \($0.requested) requested, \($0.available) available" }
        try await OrderMessages.cancel(
            event.orderID, order, reason: "out_of_stock", mail: .outOfStock, data: ["shortages": shortages.joined(separator: "; ")],
            cause: cause(context), on: context.connection)
    }

    /// Records the product worker's decision on the locked order, once: returns the order as it
    /// was, or `nil` when a decision was already recorded. An unknown order is poison.
    private static func recordDecision(_ decision: String, of orderID: UUID, context: MessageContext) async throws -> OrderStore.Locked? {
        guard let order = try await OrderStore.lock(orderID, on: context.connection) else {
            throw MessagingError(.poisonMessage, "\(context.envelope.type) for an unknown order \(orderID)")
        }
        guard order.stock == "awaiting" else { return nil }
        try await context.connection.execute("""
            UPDATE ordering.orders SET stock = \(decision), stock_decided_at = now(), updated_at = now() WHERE id = \(orderID)
            """)
        return order
    }

    // MARK: - Reminders and expiry

    /// Mails reminder `number` if the order is still PENDING (and this reminder was not sent yet),
    /// then sets the next timer: the next reminder, or the expiry once the reminders are done or
    /// the order is paid. A cancelled or completed order's chain ends here.
    static func remind(_ event: PaymentReminderDue, timings: OrderTimings, context: MessageContext) async throws {
        let connection = context.connection
        guard let order = try await OrderStore.lock(event.orderID, on: connection) else { return }
        guard order.status == .pending || order.status == .paid else { return }
        if order.status == .pending, order.remindersSent < event.number {
            try await connection.execute("""
                UPDATE ordering.orders SET reminders_sent = \(event.number), updated_at = now() WHERE id = \(event.orderID)
                """)
            try await OrderMessages.mail(
                .paymentReminder, to: order.customerID, orderID: event.orderID, data: ["reminder": String(event.number)],
                cause: cause(context), on: connection)
        }
        let next = OrderTimers.next(
            after: event.number, of: event.orderID, createdAt: order.createdAt, timings: timings,
            skipReminders: order.status != .pending, now: Date())
        try await Outbox.append(try next.outboxMessage(orderID: event.orderID, cause: cause(context)), on: connection)
    }

    /// PENDING -> CANCELLED (`expired`) with `order.cancelled`; PAID -> COMPLETED with `order.completed`
    /// (and the customer's mail either way).
    static func expire(_ event: OrderExpiryDue, context: MessageContext) async throws {
        let connection = context.connection
        guard let order = try await OrderStore.lock(event.orderID, on: connection) else { return }
        switch order.status {
        case .pending:
            try await OrderMessages.cancel(event.orderID, order, reason: "expired", mail: .orderCancelled, cause: cause(context), on: connection)
        case .paid:
            try await OrderMessages.complete(event.orderID, order, cause: cause(context), on: connection)
        default:
            return
        }
    }

    private static func cause(_ context: MessageContext) -> OrderStore.Cause {
        .message(context.envelope, actor: actor)
    }
}
