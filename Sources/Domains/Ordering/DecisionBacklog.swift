import CoreMetrics
public import Logging
import Messaging
public import Postgres
public import ServiceLifecycle

/// How far the stock decisions lag behind the orders, measured every `interval`: the gauges
/// `ordering_decisions_awaiting` (open orders still awaiting their decision) and
/// `ordering_decision_oldest_awaiting_seconds` (how long the oldest has waited). An overloaded
/// pipeline shows here first, and the `EmporiumStockDecisionsBehind` alert watches the second.
public struct DecisionBacklog: Service {
    let database: PostgresPool
    let interval: Duration
    let logger: Logger
    let awaiting: Gauge
    let oldest: Gauge

    public init(database: PostgresPool, interval: Duration = .seconds(10), logger: Logger) {
        self.database = database
        self.interval = interval
        self.logger = logger
        awaiting = Gauge(label: "ordering_decisions_awaiting")
        oldest = Gauge(label: "ordering_decision_oldest_awaiting_seconds")
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                try await measure()
            } catch {
                logger.debug("measuring the decision backlog failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Measures once and records the gauges.
    @discardableResult
    public func measure() async throws -> (awaiting: Int, oldestSeconds: Double) {
        let row = try await database.query("""
            SELECT count(*)::bigint AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest
            FROM ordering.orders WHERE stock = 'awaiting' AND status IN ('PENDING', 'PAID')
            """).single()
        let result = (awaiting: Int(try row.decode("n", as: Int64.self)), oldestSeconds: try row.decode("oldest", as: Double.self))
        awaiting.record(result.awaiting)
        oldest.record(result.oldestSeconds)
        return result
    }
}
