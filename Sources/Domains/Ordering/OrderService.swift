import Contracts
public import Foundation
public import HTTPRuntime
public import Logging
import Messaging
public import Postgres
public import Redis

/// Creating, paying and cancelling orders: what the HTTP routes call.
public struct OrderService: Sendable {
    let database: PostgresRouter
    let redis: RedisPool?
    let timings: OrderTimings
    let logger: Logger

    public init(database: PostgresRouter, redis: RedisPool?, timings: OrderTimings, logger: Logger) {
        self.database = database
        self.redis = redis
        self.timings = timings
        self.logger = logger
    }

    /// A response of `POST /orders`, stored with its Idempotency-Key and replayed for a repeat.
    public struct StoredResponse: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var replayed: Bool
    }

    // MARK: - Create

    /// Creates an order once per (customer, Idempotency-Key).
    ///
    /// A Redis `SET NX PX` lock keeps a second request with the key from working while the first
    /// does (it gets 409); a repeat after the first finished gets the stored response; the same
    /// key with another body gets 422. The durable guarantee is the primary key of
    /// `ordering.idempotency_keys`, inserted in the order's own transaction: with Redis down,
    /// concurrent requests still make one order (the losers wait for the winner's commit and
    /// replay its response).
    /// `fromCheckout` marks the key as a cart checkout's: only such an order's stock decision
    /// empties or reopens the cart.
    public func create(
        _ request: NewOrder, idempotencyKey: String, caller: Caller, cause: OrderStore.Cause, fromCheckout: Bool = false
    ) async throws -> StoredResponse {
        let errors = request.validationErrors()
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let lock = await lockKey(customerID: caller.id, idempotencyKey: idempotencyKey)
        if case .heldElsewhere = lock {
            if let stored = try await storedResponse(caller.id, idempotencyKey, fingerprint: request.fingerprint) { return stored }
            throw Self.inProgress
        }
        defer {
            if case .held(let redisLock) = lock {
                // Released in the background: the answer does not wait for Redis.
                Task { [logger] in
                    do { try await redisLock.release() } catch {
                        logger.warning("could not release the idempotency lock; it expires by itself", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        // No look-up first: the insert finds a stored response by its key conflict, and repeats are rare.
        if let created = try await insert(request, idempotencyKey: idempotencyKey, customerID: caller.id, cause: cause, fromCheckout: fromCheckout) {
            return created
        }
        // The key has a response: a repeat, or (without the Redis lock) a concurrent request that committed first.
        guard let stored = try await storedResponse(caller.id, idempotencyKey, fingerprint: request.fingerprint) else {
            throw Self.inProgress
        }
        return stored
    }

    private static var inProgress: Problem {
        Problem(
            .conflict, "Request in progress",
            detail: "A request with this Idempotency-Key is still being processed; retry shortly.", headers: [.retryAfter: "1"])
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

    /// The stored response for the key, 422 if it was stored for another body, `nil` if none.
    /// The response stored under (customer, key), whatever its request: a cart's checkout repeated
    /// after the cart already moved on (emptied by the reservation) still gets its order.
    public func storedResponse(customerID: String, idempotencyKey: String) async throws -> StoredResponse? {
        let rows = try await database.primary.query("""
            SELECT response_status, response_body::text AS body FROM ordering.idempotency_keys
            WHERE customer_id = \(customerID) AND idempotency_key = \(idempotencyKey)
            """)
        return try rows.first.map { row in
            StoredResponse(status: try row.decode("response_status"), body: Array(try row.decode("body", as: String.self).utf8), replayed: true)
        }
    }

    private func storedResponse(_ customerID: String, _ key: String, fingerprint: String) async throws -> StoredResponse? {
        let rows = try await database.primary.query("""
            SELECT fingerprint, response_status, response_body::text AS body FROM ordering.idempotency_keys
            WHERE customer_id = \(customerID) AND idempotency_key = \(key)
            """)
        guard let row = rows.first else { return nil }
        guard try row.decode("fingerprint", as: String.self) == fingerprint else {
            throw Problem(
                .unprocessableContent, "Idempotency-Key reused",
                detail: "This Idempotency-Key was used for a request with a different body.")
        }
        return StoredResponse(status: try row.decode("response_status"), body: Array(try row.decode("body", as: String.self).utf8), replayed: true)
    }

    /// The order's transaction: prices from the catalog copy, the idempotency record, the order,
    /// its lines and first history entry, and its messages. `nil` when the key was taken.
    private func insert(
        _ request: NewOrder, idempotencyKey: String, customerID: String, cause: OrderStore.Cause, fromCheckout: Bool
    ) async throws -> StoredResponse? {
        let orderID = UUID()
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        return try await database.withTransaction { connection in
            let prices = try await Self.prices(of: request.lines.map(\.sku), on: connection)
            var lines: [OrderLine] = []
            var unknown: [String] = []
            for line in request.lines {
                guard let product = prices[line.sku] else {
                    unknown.append(line.sku)
                    continue
                }
                lines.append(OrderLine(
                    sku: line.sku, name: product.name, quantity: line.quantity, unitPriceMinor: product.priceMinor,
                    lineTotalMinor: product.priceMinor * Int64(line.quantity)))
            }
            guard unknown.isEmpty else {
                throw Problem.invalid(["unknown or deleted SKUs: \(unknown.joined(separator: ", "))"], extensions: ["skus": .strings(unknown)])
            }
            let currencies = Set(request.lines.compactMap { prices[$0.sku]?.currency })
            guard currencies.count == 1, let currency = currencies.first else {
                throw Problem.invalid(["lines: every product of an order must be priced in one currency, got \(currencies.sorted().joined(separator: ", "))"])
            }
            let order = Order(
                id: orderID, customerId: customerID, status: .pending, cancelReason: nil, stock: "awaiting", stockDecidedAt: nil, currency: currency,
                totalMinor: lines.reduce(0) { $0 + $1.lineTotalMinor }, lines: lines, createdAt: now, updatedAt: now)
            let body = try [UInt8](JSONEncoder.sorted.encode(order))
            let inserted = try await connection.query("""
                WITH idempotency AS (
                    INSERT INTO ordering.idempotency_keys (customer_id, idempotency_key, fingerprint, order_id, response_status, response_body, from_checkout)
                    VALUES (\(customerID), \(idempotencyKey), \(request.fingerprint), \(orderID), 201, \(String(decoding: body, as: UTF8.self))::jsonb, \(fromCheckout))
                    ON CONFLICT DO NOTHING
                    RETURNING order_id
                ), created AS (
                    INSERT INTO ordering.orders (id, customer_id, status, currency, total_minor, created_at, updated_at)
                    SELECT order_id, \(customerID), 'PENDING', \(currency), \(order.totalMinor), \(now), \(now) FROM idempotency
                    RETURNING id
                ), lines AS (
                    INSERT INTO ordering.order_lines (order_id, line_number, sku, name, quantity, unit_price_minor)
                    SELECT created.id, l.n, l.sku, l.name, l.quantity, l.price
                    FROM created, unnest(\(lines.map(\.sku))::text[], \(lines.map(\.name))::text[], \(lines.map(\.quantity))::integer[],
                        \(lines.map(\.unitPriceMinor))::bigint[]) WITH ORDINALITY AS l(sku, name, quantity, price, n)
                )
                INSERT INTO ordering.status_history (order_id, from_status, to_status, cause_kind, cause_id, actor, at)
                SELECT id, NULL, 'PENDING', \(cause.kind), \(cause.id), \(cause.actor), \(now) FROM created
                RETURNING order_id
                """)
            guard !inserted.isEmpty else { return nil }
            try await appendCreationMessages(order, cause: cause, on: connection)
            return StoredResponse(status: 201, body: body, replayed: false)
        }
    }

    private struct CatalogPrice {
        var name: String
        var priceMinor: Int64
        var currency: String
    }

    /// Live products of the catalog copy among `skus`.
    private static func prices(of skus: [String], on connection: PostgresConnection) async throws -> [String: CatalogPrice] {
        let rows = try await connection.query("""
            SELECT sku, name, price_minor, currency FROM ordering.catalog WHERE sku = ANY(\(skus)::text[]) AND NOT deleted
            """)
        var prices: [String: CatalogPrice] = [:]
        for row in rows {
            prices[try row.decode("sku")] = CatalogPrice(
                name: try row.decode("name"), priceMinor: try row.decode("price_minor"), currency: try row.decode("currency"))
        }
        return prices
    }

    /// `order.created` for the product worker, and the first of the order's timers (the first
    /// reminder, or the expiry when there are none): each timer schedules the next when it fires
    /// (``OrderLifecycle``), so an order carries one delayed message at a time.
    private func appendCreationMessages(_ order: Order, cause: OrderStore.Cause, on connection: PostgresConnection) async throws {
        let created = OrderCreated(
            orderID: order.id, customerID: order.customerId, lines: order.lines.map { StockLine(sku: $0.sku, quantity: $0.quantity) },
            totalMinor: order.totalMinor, currency: order.currency)
        let timer = OrderTimers.first(of: order.id, createdAt: order.createdAt, timings: timings, now: order.createdAt)
        try await Outbox.append([
            try OrderMessages.message(created, orderID: order.id, to: Destinations.orders, cause: cause),
            try timer.outboxMessage(orderID: order.id, cause: cause),
        ], on: connection)
    }

    // MARK: - Reads

    public func order(_ id: UUID, caller: Caller) async throws -> Order? {
        try await database.withPrimary { try await OrderStore.order(id, visibleTo: caller.isAdmin ? nil : caller.id, on: $0) }
    }

    public func orders(of caller: Caller, limit: Int, after cursor: UUID?) async throws -> Page<Order> {
        try await database.withPrimary { try await OrderStore.orders(of: caller.id, limit: limit, after: cursor, on: $0) }
    }

    // MARK: - Pay and cancel

    /// PENDING -> PAID, once the stock is reserved. Compare-and-set on the locked row: a request
    /// that loses a race (to expiry, to a cancel, to another pay) gets 409 and changes nothing.
    public func pay(_ id: UUID, caller: Caller, cause: OrderStore.Cause) async throws -> Order {
        try await database.withTransaction { connection in
            let order = try await lockVisible(id, caller: caller, on: connection)
            guard order.status == .pending else {
                throw Problem.conflict("The order is \(order.status); only a PENDING order can be paid.", extensions: ["status": .string(order.status.rawValue)])
            }
            guard order.stock == "reserved" else {
                throw Problem.conflict("The order's stock is not reserved yet; pay once it is.", extensions: ["stock": .string(order.stock)])
            }
            try await OrderStore.transition(id, from: order.status, to: .paid, cause: cause, on: connection)
            try await OrderMessages.append(OrderPaid(orderID: id), orderID: id, to: Destinations.orders, cause: cause, on: connection)
            try await OrderMessages.mail(.paymentReceived, to: order.customerID, orderID: id, cause: cause, on: connection)
            return try await OrderStore.order(id, visibleTo: nil, on: connection)!
        }
    }

    /// PENDING -> CANCELLED (`customer`); the reservation is released through `order.cancelled`.
    public func cancel(_ id: UUID, caller: Caller, cause: OrderStore.Cause) async throws -> Order {
        try await database.withTransaction { connection in
            let order = try await lockVisible(id, caller: caller, on: connection)
            guard order.status == .pending else {
                throw Problem.conflict("The order is \(order.status); only a PENDING order can be cancelled.", extensions: ["status": .string(order.status.rawValue)])
            }
            try await OrderMessages.cancel(id, order, reason: "customer", mail: .orderCancelled, cause: cause, on: connection)
            return try await OrderStore.order(id, visibleTo: nil, on: connection)!
        }
    }

    private func lockVisible(_ id: UUID, caller: Caller, on connection: PostgresConnection) async throws -> OrderStore.Locked {
        guard let order = try await OrderStore.lock(id, on: connection), caller.isAdmin || order.customerID == caller.id else {
            throw Problem.notFound("There is no order \(id.uuidString.lowercased()).")
        }
        return order
    }
}
