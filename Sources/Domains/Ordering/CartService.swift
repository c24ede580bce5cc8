import ConnectionPool
public import DomainKit
import Foundation
import Logging
public import OrderingCore
public import Postgres

/// One cart per customer (created by its first item), priced from the order side's catalog copy,
/// checked out through the same path as `POST /orders`.
public struct CartService: Sendable {
    let database: PostgresRouter
    let orders: OrderService
    let clock: any WallClock

    public init(database: PostgresRouter, orders: OrderService, clock: any WallClock = SystemClock()) {
        self.database = database
        self.orders = orders
        self.clock = clock
    }

    // MARK: - The cart as the API shows it

    public struct Line: Codable, Sendable {
        public var sku: String
        public var name: String?
        public var quantity: Int
        /// Today's price (the catalog copy's), or the price when added if the product is gone.
        public var unitPriceMinor: Int64
        public var currency: String
        public var lineTotalMinor: Int64
        public var addedPriceMinor: Int64
        /// The product was deleted since the line was added: it cannot be checked out.
        public var deleted: Bool
        /// The price changed since the line was added.
        public var repriced: Bool
        /// Set when the last checkout was rejected for this line's stock.
        public var rejected: Rejection?
    }

    public struct Rejection: Codable, Sendable {
        public var requested: Int
        public var available: Int
    }

    public struct View: Codable, Sendable {
        public var status: CartStatus
        public var lines: [Line]
        /// Over the lines that can be ordered, when they share one currency.
        public var totalMinor: Int64?
        public var currency: String?
    }

    public struct NewItem: Decodable, Sendable {
        public var sku: String
        public var quantity: Int
    }

    public struct QuantityChange: Decodable, Sendable {
        public var quantity: Int
    }

    public func view(of customerID: String) async throws -> View {
        try await database.withPrimary { connection in try await Self.view(customerID, on: connection) }
    }

    static func view(_ customerID: String, on connection: PostgresConnection) async throws -> View {
        let status = try await connection.query("SELECT status FROM ordering.carts WHERE customer_id = \(customerID)")
            .first.map { try OrderStore.decode($0, "status", as: CartStatus.self) } ?? .open
        let rows = try await connection.query("""
            SELECT l.sku, l.quantity, l.added_price_minor, l.added_currency, l.rejected_requested, l.rejected_available,
                k.name, k.price_minor, k.currency, COALESCE(k.deleted, true) AS deleted
            FROM ordering.carts c JOIN ordering.cart_lines l ON l.cart_id = c.id
            LEFT JOIN ordering.catalog k ON k.sku = l.sku
            WHERE c.customer_id = \(customerID)
            ORDER BY l.sku
            """)
        let lines = try rows.map { row in
            let deleted: Bool = try row.decode("deleted")
            let added: Int64 = try row.decode("added_price_minor")
            let addedCurrency: String = try row.decode("added_currency")
            let price: Int64 = deleted ? added : try row.decode("price_minor", as: Int64?.self) ?? added
            let currency: String = deleted ? addedCurrency : try row.decode("currency", as: String?.self) ?? addedCurrency
            let quantity: Int = try row.decode("quantity")
            let requested: Int? = try row.decode("rejected_requested")
            let available: Int? = try row.decode("rejected_available")
            return Line(
                sku: try row.decode("sku"), name: try row.decode("name"), quantity: quantity, unitPriceMinor: price, currency: currency,
                lineTotalMinor: price * Int64(quantity), addedPriceMinor: added, deleted: deleted,
                repriced: !deleted && (price != added || currency != addedCurrency),
                rejected: requested.map { Rejection(requested: $0, available: available ?? 0) })
        }
        let orderable = lines.filter { !$0.deleted }
        let currencies = Set(orderable.map(\.currency))
        return View(
            status: status, lines: lines,
            totalMinor: currencies.count == 1 ? orderable.reduce(0) { $0 + $1.lineTotalMinor } : (orderable.isEmpty ? 0 : nil),
            currency: currencies.count == 1 ? currencies.first : nil)
    }

    // MARK: - Changes

    /// Adds `quantity` of `sku` (to the line's quantity, if the SKU is there already).
    public func add(_ item: NewItem, customerID: String) async throws -> View {
        try CartRules.validate(sku: item.sku, quantity: item.quantity)
        return try await change(customerID, creating: true) { cartID, connection in
            let product = try await connection.query("""
                SELECT price_minor, currency FROM ordering.catalog WHERE sku = \(item.sku) AND NOT deleted
                """).first
            let counts = try await connection.query("""
                SELECT count(*) FILTER (WHERE sku <> \(item.sku))::integer AS others,
                    COALESCE(sum(quantity) FILTER (WHERE sku = \(item.sku)), 0)::integer AS held
                FROM ordering.cart_lines WHERE cart_id = \(cartID)
                """).first
            try CartRules.add(
                sku: item.sku, quantity: item.quantity, productExists: product != nil, held: try counts?.decode("held") ?? 0,
                otherLines: try counts?.decode("others") ?? 0)
            guard let product else { return }
            try await connection.execute("""
                INSERT INTO ordering.cart_lines (cart_id, sku, quantity, added_price_minor, added_currency)
                VALUES (\(cartID), \(item.sku), \(item.quantity), \(try product.decode("price_minor", as: Int64.self)), \(try product.decode("currency", as: String.self)))
                ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = ordering.cart_lines.quantity + excluded.quantity,
                    rejected_requested = NULL, rejected_available = NULL
                """)
        }
    }

    /// Sets a line's quantity; 0 removes it. 404 for a SKU the cart does not hold.
    public func setQuantity(_ sku: String, to quantity: Int, customerID: String) async throws -> View {
        try CartRules.validate(newQuantity: quantity)
        return try await change(customerID, creating: false) { cartID, connection in
            let changed = quantity == 0
                ? try await connection.execute("DELETE FROM ordering.cart_lines WHERE cart_id = \(cartID) AND sku = \(sku)")
                : try await connection.execute("""
                    UPDATE ordering.cart_lines SET quantity = \(quantity), rejected_requested = NULL, rejected_available = NULL
                    WHERE cart_id = \(cartID) AND sku = \(sku)
                    """)
            guard changed == 1 else { throw CartRules.noLine(sku) }
        }
    }

    public func remove(_ sku: String, customerID: String) async throws -> View {
        try await setQuantity(sku, to: 0, customerID: customerID)
    }

    /// Runs `body` on the customer's locked cart row (creating the cart if asked), if
    /// ``CartRules/change(_:)`` allows.
    private func change(
        _ customerID: String, creating: Bool, _ body: @Sendable (UUID, PostgresConnection) async throws -> Void
    ) async throws -> View {
        try await database.withTransaction { connection in
            if creating {
                try await connection.execute("""
                    INSERT INTO ordering.carts (id, customer_id) VALUES (\(UUID.random()), \(customerID)) ON CONFLICT (customer_id) DO NOTHING
                    """)
            }
            let cart = try await CartStore.lock(customerID: customerID, on: connection)
            try CartRules.change(cart?.state)
            guard let cartID = cart?.id else { return try await Self.view(customerID, on: connection) }
            try await body(cartID, connection)
            try await connection.execute("UPDATE ordering.carts SET updated_at = now() WHERE id = \(cartID)")
            return try await Self.view(customerID, on: connection)
        }
    }

    // MARK: - Checkout

    /// Locks the cart and places its order through ``OrderService/create``, with the request's
    /// Idempotency-Key: a repeat gets the same answer. The cart stays locked until the stock
    /// decision: reserved empties it, rejected opens it again with the short lines marked.
    public func checkout(caller: Caller, idempotencyKey: String, cause: OrderStore.Cause) async throws -> OrderService.Placed {
        let customerID = caller.id
        // A repeat of a checkout whose order exists: its answer, whatever the cart holds now. (A key
        // first used for POST /orders goes the normal way: another body gets 422.)
        if try await isCheckoutKey(customerID, idempotencyKey),
           let stored = try await orders.storedResponse(customerID: customerID, idempotencyKey: idempotencyKey) {
            // Its order may be POST /orders's, made with the key while the checkout ran.
            try await reopenUnlessCheckoutOrder(customerID, idempotencyKey)
            return stored
        }
        let now = clock.now
        let lines = try await database.withTransaction { connection -> [NewOrder.Line] in
            let cart = try await CartStore.lock(customerID: customerID, on: connection)
            var lines: [NewOrder.Line] = []
            if let cart {
                lines = try await connection.query("""
                    SELECT sku, quantity FROM ordering.cart_lines WHERE cart_id = \(cart.id) ORDER BY sku
                    """).map { NewOrder.Line(sku: try $0.decode("sku"), quantity: try $0.decode("quantity")) }
            }
            switch try CartRules.checkout(cart?.state, lineCount: lines.count, key: idempotencyKey, now: now) {
            case .repeatOf:
                return lines
            case .lock(let locked):
                try await CartStore.save(locked, id: cart!.id, on: connection)
                // Remembered as a checkout's key, unless POST /orders used it first.
                try await connection.execute("""
                    INSERT INTO ordering.cart_checkouts (customer_id, idempotency_key)
                    SELECT \(customerID), \(idempotencyKey) WHERE NOT EXISTS (
                        SELECT 1 FROM ordering.idempotency_keys WHERE customer_id = \(customerID) AND idempotency_key = \(idempotencyKey))
                    ON CONFLICT DO NOTHING
                    """)
                return lines
            }
        }
        do {
            let response = try await orders.create(
                NewOrder(lines: lines), idempotencyKey: idempotencyKey, caller: caller, cause: cause, fromCheckout: true)
            // A replay may be of POST /orders's order for the key (used first, or at the same moment).
            if response.replayed { try await reopenUnlessCheckoutOrder(customerID, idempotencyKey) }
            return response
        } catch let error as DomainError where error.kind == .busy {
            // The same key is at work in another request (a double submit): that one decides.
            throw error
        } catch {
            // Refused (invalid lines, the key used for another body) or failed, maybe after the
            // order's commit.
            try? await reopenUnlessCheckoutOrder(customerID, idempotencyKey)
            throw error
        }
    }

    /// Opens the cart locked with `key` again, unless a checkout made the key's order: then that
    /// order's stock decision opens it. An order POST /orders made with the key is not the cart's,
    /// and its decision never touches the cart.
    private func reopenUnlessCheckoutOrder(_ customerID: String, _ key: String) async throws {
        let now = clock.now
        try await database.withTransaction { connection in
            guard let cart = try await CartStore.lock(customerID: customerID, on: connection) else { return }
            let checkoutOrderExists = try await !connection.query("""
                SELECT 1 FROM ordering.idempotency_keys WHERE customer_id = \(customerID) AND idempotency_key = \(key) AND from_checkout
                """).isEmpty
            if let reopened = CartRules.abandonCheckout(cart.state, key: key, checkoutOrderExists: checkoutOrderExists, now: now) {
                try await CartStore.save(reopened, id: cart.id, on: connection)
            }
        }
    }

    private func isCheckoutKey(_ customerID: String, _ key: String) async throws -> Bool {
        try await database.withPrimary { connection in
            try await !connection.query("""
                SELECT 1 FROM ordering.cart_checkouts WHERE customer_id = \(customerID) AND idempotency_key = \(key)
                """).isEmpty
        }
    }
}
