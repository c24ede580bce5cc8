import CatalogCore
import Contracts
import Foundation
import Logging
public import Messaging
import Postgres

/// The product worker's side of the stock saga. Each handler runs in the consumer's inbox
/// transaction, so its stock changes and the event it appends commit together or not at all.
///
/// A reservation is decided once per order (`catalog.reservations` is keyed by order id): a
/// re-published or replayed `order.created` with a new message id still finds the decision and
/// does nothing. Stock rows are locked in SKU order, so concurrent orders cannot deadlock.
public enum StockReservations {
    /// The check on `catalog.stock` (migration 0003) that refuses a reservation decided on stock
    /// that a concurrent one took first.
    static let availableCheck = "stock_available_check"

    /// The handlers of the product worker.
    public static func handlers() -> MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(OrderCreated.self, reserve)
        handlers.on(OrderCancelled.self, release)
        handlers.on(OrderCompleted.self, sell)
        handlers.decideAgain(whenViolated: availableCheck)
        return handlers
    }

    /// Reserves every line or none, then says which.
    static func reserve(_ order: OrderCreated, context: MessageContext) async throws {
        let connection = context.connection
        let lines = order.lines.map { StockQuantity(sku: $0.sku, quantity: $0.quantity) }
        // The claim and the read of the stock go out in one round trip; the server runs them one
        // after the other, so the read follows the claim (a concurrent copy of the message waits
        // at the claim). The stock is read unlocked: the rows are locked only by the update, which
        // goes out with the COMMIT, so a hot SKU is held for the server's part of that last round
        // trip, not from the read through the worker's turn (at 285 orders/s the locked read
        // waited 3.3 ms a call; docs/benchmarks.md). If a concurrent reservation took the stock in
        // between, the update would leave `available` below zero, the check refuses it, nothing
        // stays, and the processor runs the message again on the stock as it is then
        // (`decideAgain(whenViolated:)`).
        let results = try await connection.pipeline([
            """
            INSERT INTO catalog.reservations (order_id, status) VALUES (\(order.orderID), 'rejected')
            ON CONFLICT (order_id) DO NOTHING RETURNING order_id
            """,
            """
            SELECT s.sku, s.available, p.deleted_at IS NOT NULL AS deleted
            FROM catalog.stock s JOIN catalog.products p ON p.sku = s.sku
            WHERE s.sku = ANY(\(StockRules.merged(lines).map(\.sku))::text[])
            """,
        ])
        guard !results[0].isEmpty else {
            context.logger.info("order already decided; nothing reserved", metadata: ["order.id": "\(order.orderID)"])
            return
        }
        var available: [String: Int] = [:]
        for row in results[1] where !(try row.decode("deleted", as: Bool.self)) {
            available[try row.decode("sku")] = try row.decode("available", as: Int.self)
        }
        let key = order.orderID.uuidString.lowercased()
        switch StockRules.reserve(lines, available: available) {
        case .reject(let shortages):
            try await context.publish(
                StockRejected(
                    orderID: order.orderID,
                    shortages: shortages.map { StockShortage(sku: $0.sku, requested: $0.requested, available: $0.available) }),
                key: key, to: Destinations.orders, aggregate: "reservation:\(key)")
        case .reserve(let wanted):
            let (skus, quantities) = (wanted.map(\.sku), wanted.map(\.quantity))
            // With the outbox row, in the COMMIT's round trip; the rows locked in SKU order first,
            // as the releases lock them.
            try await connection.executeDeferred("""
                WITH locked AS (
                    SELECT s.sku FROM catalog.stock s WHERE s.sku = ANY(\(skus)::text[]) ORDER BY s.sku FOR UPDATE
                ), moved AS (
                    UPDATE catalog.stock s SET available = s.available - l.quantity, reserved = s.reserved + l.quantity
                    FROM unnest(\(skus)::text[], \(quantities)::integer[]) AS l(sku, quantity)
                    WHERE s.sku = l.sku AND s.sku IN (SELECT sku FROM locked)
                ), lines AS (
                    INSERT INTO catalog.reservation_lines (order_id, sku, quantity)
                    SELECT \(order.orderID), sku, quantity FROM unnest(\(skus)::text[], \(quantities)::integer[]) AS l(sku, quantity)
                )
                UPDATE catalog.reservations SET status = \(ReservationStatus.reserved.rawValue), updated_at = now()
                WHERE order_id = \(order.orderID)
                """)
            try await context.publish(
                StockReserved(orderID: order.orderID, lines: wanted.map { StockLine(sku: $0.sku, quantity: $0.quantity) }), key: key,
                to: Destinations.orders, aggregate: "reservation:\(key)")
        }
    }

    /// Gives a cancelled order's units back, once, and only if they were reserved or sold. A
    /// cancellation that arrives before its order.created leaves a released record behind, so
    /// the late order.created reserves nothing.
    static func release(_ cancellation: OrderCancelled, context: MessageContext) async throws {
        try await apply(StockRules.release, to: cancellation.orderID, context: context)
    }

    /// A completed order's reserved units become sold.
    static func sell(_ completion: OrderCompleted, context: MessageContext) async throws {
        try await apply(StockRules.sell, to: completion.orderID, context: context)
    }

    /// Locks the order's reservation, asks `rule`, and applies its change.
    private static func apply(
        _ rule: (ReservationStatus?) -> StockRules.Change, to orderID: UUID, context: MessageContext
    ) async throws {
        let connection = context.connection
        let status = try await connection.query("""
            SELECT status FROM catalog.reservations WHERE order_id = \(orderID) FOR UPDATE
            """).first.map { row in
            let text: String = try row.decode("status")
            guard let status = ReservationStatus(rawValue: text) else {
                throw MessagingError(.poisonMessage, "catalog.reservations.status holds \"\(text)\", which this version does not know")
            }
            return status
        }
        switch rule(status) {
        case .none:
            return
        case .record(let recorded):
            try await connection.execute("""
                INSERT INTO catalog.reservations (order_id, status) VALUES (\(orderID), \(recorded.rawValue))
                ON CONFLICT (order_id) DO NOTHING
                """)
        case .move(let source, let target, let next):
            try await moveUnits(of: orderID, from: source, to: target, on: connection)
            try await connection.execute("""
                UPDATE catalog.reservations SET status = \(next.rawValue), updated_at = now() WHERE order_id = \(orderID)
                """)
        }
    }

    /// Moves the order's reserved quantities between two stock columns, locking the stock rows in
    /// SKU order first (the order reservations lock them in).
    private static func moveUnits(of orderID: UUID, from source: StockColumn, to target: StockColumn, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            WITH locked AS (
                SELECT s.sku FROM catalog.stock s
                WHERE s.sku IN (SELECT sku FROM catalog.reservation_lines WHERE order_id = \(orderID))
                ORDER BY s.sku FOR UPDATE
            )
            UPDATE catalog.stock s SET \(unescaped: source.rawValue) = s.\(unescaped: source.rawValue) - l.quantity,
                \(unescaped: target.rawValue) = s.\(unescaped: target.rawValue) + l.quantity
            FROM catalog.reservation_lines l
            WHERE l.order_id = \(orderID) AND s.sku = l.sku AND s.sku IN (SELECT sku FROM locked)
            """)
    }
}
