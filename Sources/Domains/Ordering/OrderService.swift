import ConnectionPool
public import DomainKit
public import Foundation
public import Logging
public import OrderingCore
public import Postgres
public import Redis

/// Creating, paying and cancelling orders: what the APIs call. ``OrderRules`` decides; this
/// locks, asks, and applies the effects in one transaction.
public struct OrderService: Sendable {
    let database: PostgresRouter
    let redis: RedisPool?
    let timings: OrderTimings
    let limits: OrderLimits
    let clock: any WallClock
    let logger: Logger

    public init(
        database: PostgresRouter, redis: RedisPool?, timings: OrderTimings, limits: OrderLimits = OrderLimits(),
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.database = database
        self.redis = redis
        self.timings = timings
        self.limits = limits
        self.clock = clock
        self.logger = logger
    }

    /// The order a `POST /orders` (or a checkout) placed, as stored with its Idempotency-Key: the
    /// order's JSON as it was at creation. A repeat gets the same document as stored (`jsonb`: the
    /// server's formatting and key order, not the first answer's bytes).
    public struct Placed: Sendable {
        public var order: [UInt8]
        /// A repeat of a request that placed it earlier.
        public var replayed: Bool
        /// The order's id.
        public var id: UUID
    }

    // MARK: - Create

    /// Creates an order once per (customer, Idempotency-Key).
    ///
    /// A Redis `SET NX PX` lock keeps a second request with the key from working while the first
    /// does (it gets 409); a repeat after the first finished gets the stored response; the same
    /// key with another body gets 422. The durable guarantee is the primary key of
    /// `ordering.idempotency_keys`, inserted in the order's own transaction: with Redis down,
    /// concurrent requests still make one order (the losers wait for the winner's commit and
    /// replay its response). The lock is released only when the request fails: after a success,
    /// until it expires, a repeat finds it held and replays the stored order at once (after it,
    /// the key's conflict leads to the same look-up, once the rules admitted the request again);
    /// releasing cost a Redis script call and a task per order.
    /// `fromCheckout` marks the key as a cart checkout's: only such an order's stock decision
    /// empties or reopens the cart.
    public func create(
        _ request: NewOrder, idempotencyKey: String, caller: Caller, cause: OrderStore.Cause, fromCheckout: Bool = false
    ) async throws -> Placed {
        try request.validate()
        let lock = await lockKey(customerID: caller.id, idempotencyKey: idempotencyKey)
        if case .heldElsewhere = lock {
            if let stored = try await placed(caller.id, idempotencyKey, fingerprint: request.fingerprint) { return stored }
            throw Self.inProgress
        }
        do {
            return try await createOnce(request, idempotencyKey: idempotencyKey, caller: caller, cause: cause, fromCheckout: fromCheckout)
        } catch {
            if case .held(let redisLock) = lock {
                // Released in the background: the answer does not wait for Redis.
                Task { [logger] in
                    do { try await redisLock.release() } catch {
                        logger.warning("could not release the idempotency lock; it expires by itself", metadata: ["error": "\(error)"])
                    }
                }
            }
            throw error
        }
    }

    /// The order's transaction, or the stored response of an earlier request with the key.
    private func createOnce(
        _ request: NewOrder, idempotencyKey: String, caller: Caller, cause: OrderStore.Cause, fromCheckout: Bool
    ) async throws -> Placed {
        // No look-up first: the insert finds a stored response by its key conflict, and repeats are rare.
        do {
            if let created = try await insert(request, idempotencyKey: idempotencyKey, customerID: caller.id, cause: cause, fromCheckout: fromCheckout) {
                return created
            }
        } catch let error as DomainError where error.kind == .limited {
            // A repeat of an order placed before the limit was reached still gets its order.
            if let stored = try await placed(caller.id, idempotencyKey, fingerprint: request.fingerprint) { return stored }
            throw error
        }
        // The key has a response: a repeat, or (without the Redis lock) a concurrent request that committed first.
        guard let stored = try await placed(caller.id, idempotencyKey, fingerprint: request.fingerprint) else {
            throw Self.inProgress
        }
        return stored
    }

    private static var inProgress: DomainError {
        DomainError(.busy, "A request with this Idempotency-Key is still being processed; retry shortly.", retryAfter: .seconds(1))
    }

    private enum IdempotencyLock {
        case held(RedisLock)
        case heldElsewhere
        /// Redis is out of reach: the database's unique key still makes the order once.
        case unavailable
    }

    private func lockKey(customerID: String, idempotencyKey: String) async -> IdempotencyLock {
        guard let redis else { return .unavailable }
        let key = "emporium:idempotency:\(customerID.utf8.count):\(customerID):\(idempotencyKey)"
        do {
            if let lock = try await RedisLock.acquire(key, timeToLive: timings.idempotencyLock, on: redis) { return .held(lock) }
            return .heldElsewhere
        } catch {
            logger.warning("Redis unavailable for the idempotency lock; relying on the database", metadata: ["error": "\(error)"])
            return .unavailable
        }
    }

    /// The order placed under (customer, key), whatever its request: a cart's checkout repeated
    /// after the cart already moved on (emptied by the reservation) still gets its order.
    public func storedResponse(customerID: String, idempotencyKey: String) async throws -> Placed? {
        try await placed(customerID, idempotencyKey, fingerprint: nil)
    }

    /// The order placed under the key, `nil` if none; refused if it was placed for another body
    /// (`fingerprint`, when given).
    private func placed(_ customerID: String, _ key: String, fingerprint: String?) async throws -> Placed? {
        let rows = try await database.primary.query("""
            SELECT fingerprint, order_id, response_body::text AS body FROM ordering.idempotency_keys
            WHERE customer_id = \(customerID) AND idempotency_key = \(key)
            """)
        guard let row = rows.first else { return nil }
        if let fingerprint, try row.decode("fingerprint", as: String.self) != fingerprint {
            throw DomainError(
                .invalid, "This Idempotency-Key was used for a request with a different body.", summary: "Idempotency-Key reused")
        }
        return Placed(order: Array(try row.decode("body", as: String.self).utf8), replayed: true, id: try row.decode("order_id"))
    }

    /// What the customer holds in PENDING orders, read after taking the customer's transaction
    /// lock: one customer's orders are placed one at a time, so two at once cannot both pass the
    /// limit (the count is a statement of its own, whose snapshot follows the lock); and the
    /// prices of `skus`. The three statements go out in one round trip (a pipeline), and the
    /// server runs them one after another, so the count still sees what the lock waited for.
    private static func openOrdersAndPrices(
        of customerID: String, skus: [String], on connection: PostgresConnection
    ) async throws -> (OpenOrders, [String: OrderRules.Price]) {
        let results = try await connection.pipeline([
            "SELECT pg_advisory_xact_lock(hashtextextended('ordering.open-orders:' || \(customerID), 0))",
            """
            SELECT count(DISTINCT o.id)::integer AS orders, COALESCE(sum(l.quantity), 0)::integer AS units
            FROM ordering.orders o JOIN ordering.order_lines l ON l.order_id = o.id
            WHERE o.customer_id = \(customerID) AND o.status = 'PENDING' -- OrderStatus.pending, literal so the partial index applies
            """,
            "SELECT sku, name, price_minor, currency FROM ordering.catalog WHERE sku = ANY(\(skus)::text[]) AND NOT deleted",
        ])
        let row = try results[1].single()
        var prices: [String: OrderRules.Price] = [:]
        for row in results[2] {
            prices[try row.decode("sku")] = OrderRules.Price(
                name: try row.decode("name"), priceMinor: try row.decode("price_minor"), currency: try row.decode("currency"))
        }
        return (OpenOrders(count: try row.decode("orders"), units: try row.decode("units")), prices)
    }

    /// The order's transaction: prices from the catalog copy, the idempotency record, the order,
    /// its lines and first history entry, and its messages. `nil` when the key was taken.
    ///
    /// Two round trips: the customer's lock and the prices (with the BEGIN), then the key, the
    /// order and its messages with the COMMIT. The key's row goes in without `ON CONFLICT`, so a
    /// key already taken fails that statement, the server skips the rest, and nothing stays; a
    /// request with the key whose transaction is still open is waited for, then fails the same way.
    private func insert(
        _ request: NewOrder, idempotencyKey: String, customerID: String, cause: OrderStore.Cause, fromCheckout: Bool
    ) async throws -> Placed? {
        let now = clock.now
        // The key's insert, to tell its conflict from other failures.
        var recorded: PostgresDeferredResult?
        do {
            // Generic plans: every statement here finds its rows by key, whatever the values, and the
            // server otherwise plans the unpaid-orders count (a join) anew for each order.
            return try await database.withTransaction(plans: .generic) { connection in
                let (holding, prices) = try await Self.openOrdersAndPrices(of: customerID, skus: request.lines.map(\.sku), on: connection)
                try OrderRules.admit(request, holding: holding, limits: limits)
                let (order, effects) = try OrderRules.place(request, id: .random(), customerID: customerID, prices: prices, timings: timings, now: now)
                let lines = order.lines
                let body = try [UInt8](JSONEncoder.sorted.encode(order))
                recorded = try await connection.executeDeferred("""
                    WITH idempotency AS (
                        INSERT INTO ordering.idempotency_keys (customer_id, idempotency_key, fingerprint, order_id, response_status, response_body, from_checkout)
                        VALUES (\(customerID), \(idempotencyKey), \(request.fingerprint), \(order.id), 201, \(String(decoding: body, as: UTF8.self))::jsonb, \(fromCheckout))
                        RETURNING order_id
                    ), created AS (
                        INSERT INTO ordering.orders (id, customer_id, status, currency, total_minor, created_at, updated_at)
                        SELECT order_id, \(customerID), \(order.status.rawValue), \(order.currency), \(order.totalMinor), \(now), \(now) FROM idempotency
                        RETURNING id
                    ), lines AS (
                        INSERT INTO ordering.order_lines (order_id, line_number, sku, name, quantity, unit_price_minor)
                        SELECT created.id, l.n, l.sku, l.name, l.quantity, l.price
                        FROM created, unnest(\(lines.map(\.sku))::text[], \(lines.map(\.name))::text[], \(lines.map(\.quantity))::integer[],
                            \(lines.map(\.unitPriceMinor))::bigint[]) WITH ORDINALITY AS l(sku, name, quantity, price, n)
                    )
                    INSERT INTO ordering.status_history (order_id, from_status, to_status, cause_kind, cause_id, actor, at)
                    SELECT id, NULL, \(order.status.rawValue), \(cause.kind), \(cause.id), \(cause.actor), \(now) FROM created
                    """)
                try await OrderEffects.apply(effects, orderID: order.id, customerID: customerID, placed: order, cause: cause, now: now, on: connection)
                return Placed(order: body, replayed: false, id: order.id)
            }
        } catch where recorded?.error?.isUniqueViolation == true {
            return nil
        }
    }

    // MARK: - Reads

    public func order(_ id: UUID, caller: Caller) async throws -> Order? {
        try await database.withPrimary { try await OrderStore.order(id, visibleTo: caller.isAdmin ? nil : caller.id, on: $0) }
    }

    public func orders(of caller: Caller, limit: Int, after cursor: UUID?) async throws -> Page<Order> {
        try await database.withPrimary { try await OrderStore.orders(of: caller.id, limit: limit, after: cursor, on: $0) }
    }

    // MARK: - Pay and cancel

    /// PENDING -> PAID, once the stock is reserved; PENDING -> CANCELLED (`customer`), the
    /// reservation released through `order.cancelled`. Decided on the locked row: a request that
    /// loses a race (to expiry, to a cancel, to another pay) is refused and changes nothing.
    public func pay(_ id: UUID, caller: Caller, cause: OrderStore.Cause) async throws -> Order {
        try await Self.handle(.pay(by: caller), id, cause: cause, database: database, clock: clock)
    }

    public func cancel(_ id: UUID, caller: Caller, cause: OrderStore.Cause) async throws -> Order {
        try await Self.handle(.cancel(by: caller), id, cause: cause, database: database, clock: clock)
    }

    /// Locks the order, asks ``OrderRules``, applies the effects, and answers the order as it is now.
    static func handle(
        _ command: OrderCommand, _ id: UUID, cause: OrderStore.Cause, database: PostgresRouter, clock: any WallClock
    ) async throws -> Order {
        let now = clock.now
        return try await database.withTransaction { connection in
            let state = try await OrderStore.lock(id, on: connection)
            let transition = try OrderRules.handle(command, on: state, orderID: id)
            try await OrderEffects.apply(transition.effects, orderID: id, customerID: transition.state.customerID, cause: cause, now: now, on: connection)
            return try await OrderStore.order(id, visibleTo: nil, on: connection)!
        }
    }
}
