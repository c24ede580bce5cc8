import DomainKit
import Foundation
import OrderingCore
import Postgres

/// The carts' rows, read for and written after ``CartRules``, on a connection the caller holds.
/// The worker's side finds a checkout's cart through the order's Idempotency-Key (the cart's
/// `checkout_key`), which committed with the order, so no decision can miss it; only keys a
/// checkout made its order with count, so an order placed through POST /orders with the same key
/// never touches the cart.
enum CartStore {
    struct Locked {
        var id: UUID
        var state: CartState
    }

    /// The customer's cart row, locked.
    static func lock(customerID: String, on connection: PostgresConnection) async throws -> Locked? {
        try await connection.query("""
            SELECT id, status, checkout_key, updated_at FROM ordering.carts WHERE customer_id = \(customerID) FOR UPDATE
            """).first.map(locked)
    }

    /// Writes the state; the time is the database's (the purge compares with it), not the state's.
    static func save(_ state: CartState, id: UUID, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            UPDATE ordering.carts SET status = \(state.status.rawValue), checkout_key = \(state.checkoutKey)::text, updated_at = now()
            WHERE id = \(id)
            """)
    }

    /// The checkout whose order this is (if a checkout made it) learns how the order went.
    static func checkoutDecided(_ orderID: UUID, _ outcome: CheckoutOutcome, now: Date, on connection: PostgresConnection) async throws {
        guard let row = try await connection.query("""
            SELECT c.id, c.status, c.checkout_key, c.updated_at, k.idempotency_key FROM ordering.carts c
            JOIN ordering.idempotency_keys k ON k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key AND k.from_checkout
            WHERE k.order_id = \(orderID) FOR UPDATE OF c
            """).first
        else { return }
        let cart = try locked(row)
        guard let (state, lines) = CartRules.conclude(cart.state, checkoutKey: try row.decode("idempotency_key"), outcome: outcome, now: now)
        else { return }
        switch lines {
        case .kept:
            break
        case .emptied:
            try await connection.execute("DELETE FROM ordering.cart_lines WHERE cart_id = \(cart.id)")
        case .marked(let shortfalls):
            try await connection.execute("""
                UPDATE ordering.cart_lines l SET rejected_requested = s.requested, rejected_available = s.available
                FROM unnest(\(shortfalls.map(\.sku))::text[], \(shortfalls.map(\.requested))::integer[], \(shortfalls.map(\.available))::integer[])
                    AS s(sku, requested, available)
                WHERE l.cart_id = \(cart.id) AND l.sku = s.sku
                """)
        }
        try await save(state, id: cart.id, on: connection)
    }

    private static func locked(_ row: PostgresRow) throws -> Locked {
        Locked(
            id: try row.decode("id"),
            state: CartState(
                status: try OrderStore.decode(row, "status"), checkoutKey: try row.decode("checkout_key"), updatedAt: try row.decode("updated_at")))
    }
}
