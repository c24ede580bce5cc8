/// A transaction isolation level.
public struct PostgresIsolationLevel: Sendable, Hashable {
    let sql: String
    public static let readCommitted = Self(sql: "READ COMMITTED")
    public static let repeatableRead = Self(sql: "REPEATABLE READ")
    public static let serializable = Self(sql: "SERIALIZABLE")
}

/// How the server plans a transaction's prepared statements.
public enum PostgresPlanChoice: Sendable, Hashable {
    /// As the server decides (`plan_cache_mode` as configured, `auto` by default): a prepared
    /// statement is planned for its parameters' values until a generic plan looks as cheap, which
    /// for some statements is never, so they are planned again at every execution.
    case server
    /// Every prepared statement runs its generic plan, planned once per connection
    /// (`SET LOCAL plan_cache_mode = force_generic_plan`, sent with the BEGIN). For transactions
    /// whose statements find their rows the same way whatever the values: measured on the order
    /// placement (docs/benchmarks.md, "Statements planned at every execution"), the server
    /// planned the unpaid-orders count anew at each of 4,000 orders, 0.34 ms of CPU each.
    /// A statement whose best plan depends on a value (a parameter that would pick a partial
    /// index, a range whose width varies) does not belong in such a transaction.
    case generic
}

/// When a transaction's COMMIT returns.
public enum PostgresCommit: Sendable, Hashable {
    /// As the server is configured (`synchronous_commit`, `on` by default: once the transaction's
    /// WAL is flushed to disk, so that it survives a crash of the server).
    case synchronous
    /// At once, before the flush (`SET LOCAL synchronous_commit = off`, sent with the BEGIN); the
    /// server's WAL writer, or the next flushing commit of any session, flushes it within
    /// moments (`wal_writer_delay`, 200 ms by default, three times over at worst). A crash of
    /// the server in that window, or a failover to a replica (which receives only flushed WAL),
    /// loses the whole transaction, never a part of it, and never an earlier transaction while
    /// keeping a later one. Only for transactions whose loss is repaired by doing them again:
    /// the outbox relay marking rows it has already published (lost marks publish the rows
    /// again, which consumers' inboxes drop). It saves the COMMIT's wait for the disk.
    case asynchronous
}

extension PostgresConnection {
    /// Runs `body` inside a transaction on this connection: committed when `body` returns,
    /// rolled back when it throws (the error is rethrown unchanged).
    @discardableResult
    public func withTransaction<R: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        plans: PostgresPlanChoice = .server,
        commit: PostgresCommit = .synchronous,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        // BEGIN (and SET LOCAL) leave with the first statement, in the same round trip.
        var begin = [isolation == .readCommitted ? "BEGIN" : "BEGIN ISOLATION LEVEL \(isolation.sql)"]
        if plans == .generic { begin.append("SET LOCAL plan_cache_mode = force_generic_plan") }
        if commit == .asynchronous { begin.append("SET LOCAL synchronous_commit = off") }
        try await run { $0.beginDeferred(begin) }
        let result: R
        do {
            result = try await body(self)
        } catch {
            // A failed rollback leaves the connection in a transaction; the pool then drops it.
            _ = try? await run { try await $0.rollback() }
            throw error
        }
        try await run { try await $0.commit() }
        return result
    }
}
