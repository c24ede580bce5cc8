import Contracts
import Foundation
import Postgres

/// The order worker's side of carts: a checkout's stock decision ends its lock. The cart is found
/// through the order's Idempotency-Key (the cart's `checkout_key`), which committed with the
/// order, so no decision can miss it; only keys a checkout made its order with count, so an order
/// placed through POST /orders with the same key never touches the cart.
enum CartStore {
    /// Stock reserved for the checkout's order: the cart is emptied and open again.
    static func orderReserved(_ orderID: UUID, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            WITH cart AS (
                SELECT c.id FROM ordering.carts c JOIN ordering.idempotency_keys k
                  ON k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key AND k.from_checkout
                WHERE k.order_id = \(orderID) AND c.status = 'locked' FOR UPDATE OF c
            ), emptied AS (
                DELETE FROM ordering.cart_lines WHERE cart_id IN (SELECT id FROM cart)
            )
            UPDATE ordering.carts SET status = 'open', checkout_key = NULL, updated_at = now()
            WHERE id IN (SELECT id FROM cart)
            """)
    }

    /// Stock rejected: the cart opens again, each short line marked with what was asked and what
    /// there was.
    static func orderRejected(_ orderID: UUID, shortages: [StockShortage], on connection: PostgresConnection) async throws {
        try await connection.execute("""
            WITH cart AS (
                SELECT c.id FROM ordering.carts c JOIN ordering.idempotency_keys k
                  ON k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key AND k.from_checkout
                WHERE k.order_id = \(orderID) AND c.status = 'locked' FOR UPDATE OF c
            ), marked AS (
                UPDATE ordering.cart_lines l SET rejected_requested = s.requested, rejected_available = s.available
                FROM unnest(\(shortages.map(\.sku))::text[], \(shortages.map(\.requested))::integer[], \(shortages.map(\.available))::integer[])
                    AS s(sku, requested, available)
                WHERE l.cart_id IN (SELECT id FROM cart) AND l.sku = s.sku
            )
            UPDATE ordering.carts SET status = 'open', checkout_key = NULL, updated_at = now()
            WHERE id IN (SELECT id FROM cart)
            """)
    }

    /// Any other end of the checkout's order before a decision (cancelled, expired): open again,
    /// lines kept.
    static func orderEnded(_ orderID: UUID, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            UPDATE ordering.carts c SET status = 'open', checkout_key = NULL, updated_at = now()
            FROM ordering.idempotency_keys k
            WHERE k.order_id = \(orderID) AND k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key AND k.from_checkout
              AND c.status = 'locked'
            """)
    }
}
