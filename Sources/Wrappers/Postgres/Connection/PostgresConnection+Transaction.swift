/// A transaction isolation level.
public struct PostgresIsolationLevel: Sendable, Hashable {
    let sql: String
    public static let readCommitted = Self(sql: "READ COMMITTED")
    public static let repeatableRead = Self(sql: "REPEATABLE READ")
    public static let serializable = Self(sql: "SERIALIZABLE")
}

extension PostgresConnection {
    /// Runs `body` inside a transaction on this connection: committed when `body` returns,
    /// rolled back when it throws (the error is rethrown unchanged).
    @discardableResult
    public func withTransaction<R: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        // BEGIN leaves with the first statement, in the same round trip.
        let begin = isolation == .readCommitted ? "BEGIN" : "BEGIN ISOLATION LEVEL \(isolation.sql)"
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
