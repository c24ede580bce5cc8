public import DomainKit
import Foundation
public import Logging
public import Messaging
import OrderingCore
public import Postgres

/// Every `interval`, asks ``CartRules/purge(_:orderAwaiting:lifetime:now:)`` about the carts it
/// could act on: open carts untouched for `lifetime` are removed, and checkout locks that outlived
/// any reason to hold them (a checkout that died half-way) are opened again. Each change re-checks
/// its cart in the statement that makes it, so a cart touched meanwhile is left alone; safe on any
/// number of replicas.
public struct CartPurge: PeriodicPurge {
    let database: PostgresPool
    let lifetime: Duration
    let clock: any WallClock
    public let interval: Duration
    public let logger: Logger
    public var purged: String { "idle carts" }
    /// Carts looked at per statement.
    static let batch = 1000

    public init(database: PostgresPool, lifetime: Duration, interval: Duration, clock: any WallClock = SystemClock(), logger: Logger) {
        self.database = database
        self.lifetime = lifetime
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// The number of carts removed.
    @discardableResult
    public func purgeOnce() async throws -> Int {
        // The database's time: the carts' times are written by it, whatever this replica's clock says.
        let now: Date = try await database.query("SELECT now() AS now").first?.decode("now") ?? clock.now
        let (staleBefore, idleBefore) = (now.adding(.zero - CartRules.staleLock), now.adding(.zero - lifetime))
        var (removed, reopened) = (0, 0)
        var after = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        while true {
            let rows = try await database.query("""
                SELECT c.id, c.status, c.updated_at, EXISTS (
                    SELECT 1 FROM ordering.idempotency_keys k JOIN ordering.orders o ON o.id = k.order_id
                    WHERE k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key
                      AND o.stock = 'awaiting' AND o.status IN ('PENDING', 'PAID')) AS awaiting
                FROM ordering.carts c
                WHERE c.id > \(after)
                  AND ((c.status = 'locked' AND c.updated_at < \(staleBefore)) OR (c.status = 'open' AND c.updated_at < \(idleBefore)))
                ORDER BY c.id LIMIT \(unescaped: String(Self.batch))
                """)
            var (reopen, delete): ([UUID], [UUID]) = ([], [])
            for row in rows {
                let cart = CartState(status: try OrderStore.decode(row, "status"), updatedAt: try row.decode("updated_at"))
                let id: UUID = try row.decode("id")
                after = id
                switch CartRules.purge(cart, orderAwaiting: try row.decode("awaiting"), lifetime: lifetime, now: now) {
                case .keep: break
                case .reopen: reopen.append(id)
                case .delete: delete.append(id)
                }
            }
            if !reopen.isEmpty {
                // Re-checked in the statement: a checkout retried meanwhile may have made the order
                // its cart now waits for.
                reopened += try await database.execute("""
                    UPDATE ordering.carts c SET status = 'open', checkout_key = NULL, updated_at = now()
                    WHERE c.id = ANY(\(reopen)::uuid[]) AND c.status = 'locked' AND c.updated_at < \(staleBefore)
                      AND NOT EXISTS (
                          SELECT 1 FROM ordering.idempotency_keys k JOIN ordering.orders o ON o.id = k.order_id
                          WHERE k.customer_id = c.customer_id AND k.idempotency_key = c.checkout_key
                            AND o.stock = 'awaiting' AND o.status IN ('PENDING', 'PAID'))
                    """)
            }
            if !delete.isEmpty {
                removed += try await database.execute("""
                    DELETE FROM ordering.carts WHERE id = ANY(\(delete)::uuid[]) AND status = 'open' AND updated_at < \(idleBefore)
                    """)
            }
            if rows.count < Self.batch { break }
        }
        if reopened > 0 { logger.warning("reopened carts whose checkout lock was stale", metadata: ["cart.reopened": "\(reopened)"]) }
        return removed
    }
}
