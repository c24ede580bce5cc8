import Foundation
public import Logging
public import Postgres
public import Messaging

/// Removes open carts untouched for `lifetime`, and reopens carts whose checkout lock outlived
/// any reason to hold it (no order was made with its key, or that order's stock was decided or
/// the order ended, ten minutes ago or more: a checkout that died half-way), every `interval`.
/// Safe on any number of replicas.
public struct CartPurge: PeriodicPurge {
    let database: PostgresPool
    let lifetime: Duration
    public let interval: Duration
    public let logger: Logger
    public var purged: String { "idle carts" }

    public init(database: PostgresPool, lifetime: Duration, interval: Duration, logger: Logger) {
        self.database = database
        self.lifetime = lifetime
        self.interval = interval
        self.logger = logger
    }

    @discardableResult
    public func purgeOnce() async throws -> Int {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        let reopened = try await database.execute("""
            UPDATE ordering.carts c SET status = 'open', checkout_key = NULL, updated_at = now()
            WHERE c.status = 'locked' AND c.updated_at < now() - interval '10 minutes'
              AND NOT EXISTS (
                  SELECT 1 FROM ordering.idempotency_keys k JOIN ordering.orders o ON o.id = k.order_id
                  WHERE k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key
                    AND o.stock = 'awaiting' AND o.status IN ('PENDING', 'PAID'))
            """)
        if reopened > 0 { logger.warning("reopened carts whose checkout lock was stale", metadata: ["cart.reopened": "\(reopened)"]) }
        return try await database.execute("""
            DELETE FROM ordering.carts WHERE status = 'open' AND updated_at < now() - \(seconds) * interval '1 second'
            """)
    }
}
