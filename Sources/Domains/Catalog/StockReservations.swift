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
    /// The handlers of the product worker.
    public static func handlers() -> MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(OrderCreated.self, reserve)
        handlers.on(OrderCancelled.self, release)
        handlers.on(OrderCompleted.self, sell)
        return handlers
    }

    /// Reserves every line or none, then says which.
    static func reserve(_ order: OrderCreated, context: MessageContext) async throws {
        let connection = context.connection
        let claimed = try await connection.query("""
            INSERT INTO catalog.reservations (order_id, status) VALUES (\(order.orderID), 'rejected')
            ON CONFLICT (order_id) DO NOTHING RETURNING order_id
            """)
        guard !claimed.isEmpty else {
            context.logger.info("order already decided; nothing reserved", metadata: ["order.id": "\(order.orderID)"])
            return
        }
        let wanted = merged(order.lines)
        let skus = wanted.map(\.sku)
        let rows = try await connection.query("""
            SELECT s.sku, s.available, p.deleted_at IS NOT NULL AS deleted
            FROM catalog.stock s JOIN catalog.products p ON p.sku = s.sku
            WHERE s.sku = ANY(\(skus)::text[])
            ORDER BY s.sku
            FOR UPDATE OF s
            """)
        var available: [String: Int] = [:]
        for row in rows where !(try row.decode("deleted", as: Bool.self)) {
            available[try row.decode("sku")] = try row.decode("available", as: Int.self)
        }
        let shortages = wanted.compactMap { line -> StockShortage? in
            let have = available[line.sku] ?? 0
            return have >= line.quantity ? nil : StockShortage(sku: line.sku, requested: line.quantity, available: have)
        }
        let key = order.orderID.uuidString.lowercased()
        guard shortages.isEmpty else {
            try await context.publish(
                StockRejected(orderID: order.orderID, shortages: shortages), key: key, to: Destinations.orders,
                aggregate: "reservation:\(key)")
            return
        }
        let quantities = wanted.map(\.quantity)
        try await connection.execute("""
            WITH moved AS (
                UPDATE catalog.stock s SET available = s.available - l.quantity, reserved = s.reserved + l.quantity
                FROM unnest(\(skus)::text[], \(quantities)::integer[]) AS l(sku, quantity)
                WHERE s.sku = l.sku
            ), lines AS (
                INSERT INTO catalog.reservation_lines (order_id, sku, quantity)
                SELECT \(order.orderID), sku, quantity FROM unnest(\(skus)::text[], \(quantities)::integer[]) AS l(sku, quantity)
            )
            UPDATE catalog.reservations SET status = 'reserved', updated_at = now()
            WHERE order_id = \(order.orderID)
            """)
        try await context.publish(
            StockReserved(orderID: order.orderID, lines: wanted), key: key, to: Destinations.orders, aggregate: "reservation:\(key)")
    }

    /// Gives a cancelled order's units back, once, and only if they were reserved or sold. A
    /// cancellation that arrives before its order.created leaves a released record behind, so
    /// the late order.created reserves nothing.
    static func release(_ cancellation: OrderCancelled, context: MessageContext) async throws {
        let connection = context.connection
        guard let status = try await lockReservation(cancellation.orderID, on: connection) else {
            try await connection.execute("""
                INSERT INTO catalog.reservations (order_id, status) VALUES (\(cancellation.orderID), 'released')
                ON CONFLICT (order_id) DO NOTHING
                """)
            return
        }
        let column: String
        switch status {
        case "reserved": column = "reserved"
        case "sold": column = "sold"
        default: return  // rejected (nothing was taken) or released already
        }
        try await moveUnits(of: cancellation.orderID, from: column, to: "available", on: connection)
        try await connection.execute("""
            UPDATE catalog.reservations SET status = 'released', updated_at = now() WHERE order_id = \(cancellation.orderID)
            """)
    }

    /// A completed order's reserved units become sold.
    static func sell(_ completion: OrderCompleted, context: MessageContext) async throws {
        let connection = context.connection
        guard try await lockReservation(completion.orderID, on: connection) == "reserved" else { return }
        try await moveUnits(of: completion.orderID, from: "reserved", to: "sold", on: connection)
        try await connection.execute("""
            UPDATE catalog.reservations SET status = 'sold', updated_at = now() WHERE order_id = \(completion.orderID)
            """)
    }

    private static func lockReservation(_ orderID: UUID, on connection: PostgresConnection) async throws -> String? {
        try await connection.query("""
            SELECT status FROM catalog.reservations WHERE order_id = \(orderID) FOR UPDATE
            """).first?.decode("status")
    }

    /// Moves the order's reserved quantities between two stock columns, locking the stock rows in
    /// SKU order first (the order reservations lock them in).
    private static func moveUnits(of orderID: UUID, from source: String, to target: String, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            WITH locked AS (
                SELECT s.sku FROM catalog.stock s
                WHERE s.sku IN (SELECT sku FROM catalog.reservation_lines WHERE order_id = \(orderID))
                ORDER BY s.sku FOR UPDATE
            )
            UPDATE catalog.stock s SET \(unescaped: source) = s.\(unescaped: source) - l.quantity,
                \(unescaped: target) = s.\(unescaped: target) + l.quantity
            FROM catalog.reservation_lines l
            WHERE l.order_id = \(orderID) AND s.sku = l.sku AND s.sku IN (SELECT sku FROM locked)
            """)
    }

    /// One line per SKU (quantities of repeated SKUs added), in SKU order.
    static func merged(_ lines: [StockLine]) -> [StockLine] {
        var quantities: [String: Int] = [:]
        for line in lines { quantities[line.sku, default: 0] += line.quantity }
        return quantities.keys.sorted().map { StockLine(sku: $0, quantity: quantities[$0]!) }
    }
}
