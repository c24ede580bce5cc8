import Foundation
public import Logging
public import Postgres
public import ServiceLifecycle

/// Removes carts untouched for `lifetime` (open ones: a locked cart waits for its order's stock
/// decision), every `interval`. Safe on any number of replicas.
public struct CartPurge: Service {
    let database: PostgresPool
    let lifetime: Duration
    let interval: Duration
    let logger: Logger

    public init(database: PostgresPool, lifetime: Duration, interval: Duration, logger: Logger) {
        self.database = database
        self.lifetime = lifetime
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let removed = try await purgeOnce()
                if removed > 0 { logger.info("removed idle carts", metadata: ["cart.removed": "\(removed)"]) }
            } catch {
                logger.warning("removing idle carts failed; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    @discardableResult
    public func purgeOnce() async throws -> Int {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        return try await database.execute("""
            DELETE FROM ordering.carts WHERE status = 'open' AND updated_at < now() - \(seconds) * interval '1 second'
            """)
    }
}
