import Contracts
public import DomainKit
import Foundation
import Logging
public import Messaging
public import OrderingCore
import Postgres

/// The order worker's handlers: the catalog copy, the product worker's stock decisions, and the
/// delayed reminders and expiry. Each runs in the consumer's inbox transaction on the locked order
/// row; ``OrderRules`` decides, so a message that finds the order already moved on (paid before
/// its reminder, cancelled before its expiry) changes nothing and sends nothing.
public enum OrderLifecycle {
    static let actor = "worker-order"

    /// Every handler of the order worker: Kafka (`product.*`, `stock.*`) and AMQP (reminders,
    /// expiry) share one processor and one inbox. `timings` place each reminder's successor.
    public static func handlers(timings: OrderTimings, clock: any WallClock = SystemClock()) -> MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(ProductCreated.self) { event, context in try await copy(event.product, context: context) }
        handlers.on(ProductUpdated.self) { event, context in try await copy(event.product, context: context) }
        handlers.on(ProductDeleted.self, deleteCopy)
        func on<Payload: MessagePayload>(_ type: Payload.Type, _ event: @escaping @Sendable (Payload) -> (UUID, OrderEvent)) {
            handlers.on(type) { payload, context in
                let (orderID, event) = event(payload)
                try await handle(event, orderID: orderID, timings: timings, clock: clock, context: context)
            }
        }
        on(StockReserved.self) { ($0.orderID, .stockReserved) }
        on(StockRejected.self) { event in
            (event.orderID, .stockRejected(event.shortages.map { StockShortfall(sku: $0.sku, requested: $0.requested, available: $0.available) }))
        }
        on(PaymentReminderDue.self) { ($0.orderID, .reminderDue($0.number)) }
        on(OrderExpiryDue.self) { ($0.orderID, .expiryDue) }
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

    // MARK: - Stock decisions and timers

    /// Asks ``OrderRules`` on the locked order and applies what it decides. A stock decision for
    /// an unknown order is poison; a timer of an order that is gone (purged) ends its chain.
    static func handle(_ event: OrderEvent, orderID: UUID, timings: OrderTimings, clock: any WallClock, context: MessageContext) async throws {
        let connection = context.connection
        guard let state = try await OrderStore.lock(orderID, on: connection) else {
            switch event {
            case .stockReserved, .stockRejected:
                throw MessagingError(.poisonMessage, "\(context.envelope.type) for an unknown order \(orderID)")
            case .reminderDue, .expiryDue:
                return
            }
        }
        let now = clock.now
        let transition = OrderRules.handle(event, on: state, timings: timings, now: now)
        try await OrderEffects.apply(
            transition.effects, orderID: orderID, customerID: state.customerID, cause: cause(context), now: now, on: connection)
    }

    private static func cause(_ context: MessageContext) -> OrderStore.Cause {
        .message(context.envelope, actor: actor)
    }
}
