public import CatalogCore
import Contracts
public import DomainKit
import Foundation
import Messaging
public import Postgres

/// The catalog's SQL: products and their stock. Writes go to the primary with their events in
/// the same transaction (the outbox); reads that may be a little stale go through the router to
/// the replica. The writes are `readYourWrites`: an admin who creates or changes a product and
/// fetches it at once (for its ETag) gets what was written, not a lagging replica's copy.
public struct CatalogStore: Sendable {
    let database: PostgresRouter

    public init(database: PostgresRouter) {
        self.database = database
    }

    /// Who asked for a change: recorded as the events' correlation and causation.
    public struct Cause: Sendable {
        public var requestID: String
        public var correlationID: String
        public var traceParent: String?
        public init(requestID: String, correlationID: String, traceParent: String? = nil) {
            self.traceParent = traceParent
            self.requestID = requestID
            self.correlationID = correlationID
        }
    }

    static let columns = """
        p.sku, p.name, p.description, p.price_minor, p.currency, s.available, p.version, p.created_at, p.updated_at
        """

    // MARK: - Writes

    /// Creates a product and its stock; 409 if the SKU is taken (also by a deleted product).
    public func create(_ product: NewProduct, cause: Cause) async throws -> Product {
        try await database.withTransaction(readYourWrites: true) { connection in
            let rows = try await connection.query("""
                WITH p AS (
                    INSERT INTO catalog.products (sku, name, description, price_minor, currency)
                    VALUES (\(product.sku), \(product.name), \(product.description ?? ""), \(product.priceMinor), \(product.currency))
                    ON CONFLICT (sku) DO NOTHING
                    RETURNING *
                ), s AS (
                    INSERT INTO catalog.stock (sku, available) SELECT sku, \(product.stock) FROM p RETURNING *
                )
                SELECT \(unescaped: Self.columns) FROM p JOIN s ON s.sku = p.sku
                """)
            guard let row = rows.first else {
                throw DomainError.conflict("The SKU \(product.sku) is already taken.")
            }
            let created = try Self.product(row)
            try await append(ProductCreated(product: created.snapshot), sku: created.sku, cause: cause, on: connection)
            return created
        }
    }

    /// Applies `changes` to a live product while it is still as the caller saw it (`expected`;
    /// nil: as it is); 404 if there is none, 412 if it moved on.
    public func update(_ sku: String, _ changes: ProductChanges, expected: [ProductTag]?, cause: Cause) async throws -> Product {
        try await database.withTransaction(readYourWrites: true) { connection in
            let current = try await lockedTag(sku, on: connection)
            try ProductRules.checkUnchanged(current: current, expected: expected)
            let rows = try await connection.query("""
                WITH p AS (
                    UPDATE catalog.products SET
                        name = COALESCE(\(changes.name)::text, name),
                        description = COALESCE(\(changes.description)::text, description),
                        price_minor = COALESCE(\(changes.priceMinor)::bigint, price_minor),
                        currency = COALESCE(\(changes.currency)::text, currency),
                        version = version + 1, updated_at = now()
                    WHERE sku = \(sku) AND deleted_at IS NULL
                    RETURNING *
                ), s AS (
                    UPDATE catalog.stock SET available = COALESCE(\(changes.stock)::integer, available)
                    WHERE sku = (SELECT sku FROM p)
                    RETURNING *
                )
                SELECT \(unescaped: Self.columns) FROM p JOIN s ON s.sku = p.sku
                """)
            guard let row = rows.first else { throw Self.notFound(sku) }
            let updated = try Self.product(row)
            try await append(ProductUpdated(product: updated.snapshot), sku: sku, cause: cause, on: connection)
            return updated
        }
    }

    /// Adds `adjustment.delta` units to a live product's available stock, whatever it is now;
    /// 404 if there is none, 409 if it would go below zero.
    public func adjustStock(_ sku: String, _ adjustment: StockAdjustment, cause: Cause) async throws -> Product {
        try await database.withTransaction(readYourWrites: true) { connection in
            let current = try await lockedTag(sku, on: connection)
            let available = try StockRules.adjusted(available: current.available, by: adjustment.delta, sku: sku)
            let rows = try await connection.query("""
                WITH s AS (UPDATE catalog.stock SET available = \(available) WHERE sku = \(sku) RETURNING *)
                SELECT \(unescaped: Self.columns) FROM catalog.products p JOIN s ON s.sku = p.sku
                """)
            guard let row = rows.first else { throw Self.notFound(sku) }
            return try Self.product(row)
        }
    }

    /// The live product's tag, its rows locked until the transaction ends; 404 if there is none.
    /// The lock is the one an UPDATE that keeps the key takes (NO KEY UPDATE): a FOR UPDATE lock
    /// on the product would also shut out the key share a reservation's lines take for their
    /// foreign key, and a reservation that held the stock row would then deadlock with it.
    private func lockedTag(_ sku: String, on connection: PostgresConnection) async throws -> ProductTag {
        let rows = try await connection.query("""
            SELECT p.version, s.available FROM catalog.products p JOIN catalog.stock s ON s.sku = p.sku
            WHERE p.sku = \(sku) AND p.deleted_at IS NULL
            FOR NO KEY UPDATE
            """)
        guard let row = rows.first else { throw Self.notFound(sku) }
        return ProductTag(version: try row.decode("version"), available: try row.decode("available"))
    }

    /// Deletes a live product (softly: the SKU stays taken); 404 if there is none.
    public func delete(_ sku: String, cause: Cause) async throws {
        try await database.withTransaction(readYourWrites: true) { connection in
            let rows = try await connection.query("""
                UPDATE catalog.products SET deleted_at = now(), updated_at = now(), version = version + 1
                WHERE sku = \(sku) AND deleted_at IS NULL
                RETURNING version
                """)
            guard let row = rows.first else { throw Self.notFound(sku) }
            try await append(ProductDeleted(sku: sku, version: try row.decode("version")), sku: sku, cause: cause, on: connection)
        }
    }

    private func append<Payload: MessagePayload>(_ event: Payload, sku: String, cause: Cause, on connection: PostgresConnection) async throws {
        let envelope = try MessageEnvelope(
            event, key: sku, correlationID: cause.correlationID, causationID: cause.requestID,
            traceParent: TracePropagation.outgoing(parent: cause.traceParent))
        try await Outbox.append(OutboxMessage(envelope, to: Destinations.products, aggregate: "product:\(sku)"), on: connection)
    }

    // MARK: - Reads (replica)

    /// A live product, or `nil`.
    public func product(_ sku: String) async throws -> Product? {
        let rows = try await database.read("""
            SELECT \(unescaped: Self.columns) FROM catalog.products p JOIN catalog.stock s ON s.sku = p.sku
            WHERE p.sku = \(sku) AND p.deleted_at IS NULL
            """)
        return try rows.first.map(Self.product)
    }

    /// The live products among `skus`, by SKU, in one statement (a GraphQL request loads the
    /// products of a page's lines this way); SKUs with no live product are absent.
    public func products(_ skus: Set<String>) async throws -> [String: Product] {
        guard !skus.isEmpty else { return [:] }
        let rows = try await database.read("""
            SELECT \(unescaped: Self.columns) FROM catalog.products p JOIN catalog.stock s ON s.sku = p.sku
            WHERE p.sku = ANY(\(Array(skus))::text[]) AND p.deleted_at IS NULL
            """)
        return Dictionary(try rows.map(Self.product).map { ($0.sku, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A page of live products in SKU order.
    public func products(_ query: ProductQuery) async throws -> Page<Product> {
        let pattern = query.search.map { "%" + $0.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
        let rows = try await database.read("""
            SELECT \(unescaped: Self.columns) FROM catalog.products p JOIN catalog.stock s ON s.sku = p.sku
            WHERE p.deleted_at IS NULL
              AND (\(query.after)::text IS NULL OR p.sku > \(query.after)::text)
              AND (\(pattern)::text IS NULL OR p.name ILIKE \(pattern)::text OR p.sku ILIKE \(pattern)::text)
              AND (\(query.currency)::text IS NULL OR p.currency = \(query.currency)::text)
              AND (\(query.minimumPrice)::bigint IS NULL OR p.price_minor >= \(query.minimumPrice)::bigint)
              AND (\(query.maximumPrice)::bigint IS NULL OR p.price_minor <= \(query.maximumPrice)::bigint)
              AND (NOT \(query.inStockOnly) OR s.available > 0)
            ORDER BY p.sku
            LIMIT \(unescaped: String(query.limit + 1))
            """)
        var items = try rows.map(Self.product)
        let more = items.count > query.limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last?.sku : nil)
    }

    static func product(_ row: PostgresRow) throws -> Product {
        Product(
            sku: try row.decode("sku"), name: try row.decode("name"), description: try row.decode("description"),
            priceMinor: try row.decode("price_minor"), currency: try row.decode("currency"), stock: try row.decode("available"),
            version: try row.decode("version"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    public static func notFound(_ sku: String) -> DomainError { .notFound("There is no product \(sku).") }
}

extension Product {
    /// The product as its events carry it.
    var snapshot: ProductSnapshot {
        ProductSnapshot(sku: sku, name: name, description: description, priceMinor: priceMinor, currency: currency, version: version)
    }
}
