public import ConnectionPool
import Dispatch
public import Logging
import Synchronization

/// One connection to a PostgreSQL server.
///
/// libpq blocks, so every call runs on this connection's own serial dispatch queue, never on
/// Swift's cooperative pool. The queue runs one call at a time, which is what makes sharing the
/// object between tasks safe (hence `@unchecked Sendable`); a pool still hands it to one task at
/// a time, because statements of two tasks must not interleave inside a transaction.
public final class PostgresConnection: @unchecked Sendable {
    private let handle: PGConnectionHandle
    let queue: BlockingCallQueue
    /// The thread this connection's C calls run on.
    public var executor: BlockingCallQueue { queue }
    /// The server, as `host:port`.
    public let address: String
    /// Set once a cancel request went out: it may still reach the server after the statement
    /// ended and hit the next one, so such a connection is never handed out again.
    private let cancelRequested = Atomic<Bool>(false)

    private init(handle: PGConnectionHandle, queue: BlockingCallQueue) {
        self.handle = handle
        self.queue = queue
        self.address = handle.address
    }

    /// Connects, blocking a dispatch thread (bounded by the configuration's connect time-out).
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection {
        let queue = BlockingCallQueue(label: "emporium.postgres.\(configuration.address)")
        return try await queue.run {
            PostgresConnection(handle: try PGConnectionHandle.connect(configuration, logger: logger), queue: queue)
        }
    }

    // MARK: - Statements

    /// Runs a statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        PostgresStatementCount.add(1)
        return try await run { try $0.execute(query) }
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        PostgresStatementCount.add(1)
        return try await run { try $0.execute(query).affectedRows }
    }

    /// Inside a transaction, holds a statement whose result is not needed and sends it with the
    /// transaction's next statement or its COMMIT, in the same round trip (a write made while
    /// row locks are held then adds no wait of its own). Its error is thrown by that statement or
    /// the COMMIT, and the transaction is rolled back. Outside a transaction it runs now.
    public func executeDeferred(_ query: PostgresQuery) async throws {
        PostgresStatementCount.add(1)
        try await run { try $0.deferStatement(query) }
    }

    /// Runs trusted SQL text that may hold several statements and takes no parameters
    /// (migrations, fixed DDL). Never pass text that contains outside input.
    public func executeScript(_ sql: String) async throws {
        try await run { try $0.executeScript(sql) }
    }

    /// Sends all statements in one round trip (pipeline mode) and returns their results in order.
    /// Outside a transaction the batch is atomic: one failure rolls all of it back.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        PostgresStatementCount.add(queries.count)
        return try await run { try $0.pipeline(queries) }
    }

    // MARK: - Lifecycle

    /// Whether the connection can be handed to the next user: connected and outside any
    /// transaction. Read only by the task that holds the connection, while nothing runs on it.
    public var isReusable: Bool { !cancelRequested.load(ordering: .relaxed) && handle.isIdleAndHealthy }

    // MARK: - Queue

    /// Runs `work` on the connection's queue. Cancelling the task asks the server to cancel the
    /// running statement (`PQcancel` is the one libpq call that is safe from another thread).
    /// A cancellation that comes before the statement reaches the server (the task was cancelled
    /// while the connection was being set up, or while the work waited on the queue) fails it
    /// the same way, instead of being lost.
    func run<T: Sendable>(_ work: @escaping @Sendable (PGConnectionHandle) throws -> T) async throws -> T {
        try await queue.run {
            guard !self.cancelRequested.load(ordering: .relaxed) else {
                throw PostgresError(.server, "canceling statement due to user request (before it started)", sqlState: "57014", server: self.address)
            }
            return try work(self.handle)
        } onCancel: { self.requestCancel() }
    }

    /// PQcancel opens a connection of its own and waits for it, so it runs on a queue of its own,
    /// not on the thread that cancelled the task (nor on `DispatchQueue.global()`, whose threads
    /// Swift's cooperative pool uses on Linux).
    private func requestCancel() {
        cancelRequested.store(true, ordering: .relaxed)
        cancelRequests.async { self.handle.cancelRunningQuery() }
    }
}

/// Where cancel requests wait for the server; concurrent, so one slow server does not hold up others.
private let cancelRequests = DispatchQueue(label: "emporium.postgres.cancel", attributes: .concurrent)
