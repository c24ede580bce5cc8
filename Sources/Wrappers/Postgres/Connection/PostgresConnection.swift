import ConnectionPool
import Dispatch
public import Logging
import Synchronization

/// One connection to a PostgreSQL server.
///
/// Its socket is watched by one of the process's few ``SocketEventLoop``s: a statement is sent
/// without blocking and the task suspends until the answer is in, then goes on on the loop's
/// thread. No thread waits per connection, and a transaction's statements and the code between
/// them run on the loop without a thread hand-off each. The object may be passed between tasks
/// (hence `@unchecked Sendable`), but it serves one at a time: a pool hands it to one task at a
/// time, and a second task using it meanwhile gets an error instead of interleaved statements.
public final class PostgresConnection: @unchecked Sendable {
    let handle: PGConnectionHandle
    let loop: SocketEventLoop
    /// The thread that runs the holder's code between statements.
    public var executor: any TaskExecutor { loop }
    /// The server, as `host:port`.
    public let address: String
    /// Set once a cancel request went out: it may still reach the server after the statement
    /// ended and hit the next one, so such a connection is never handed out again.
    private let cancelRequested = Atomic<Bool>(false)
    /// A call is running: a second, concurrent one would interleave its protocol messages.
    private let inUse = Atomic<Bool>(false)

    private init(handle: PGConnectionHandle, loop: SocketEventLoop) {
        self.handle = handle
        self.loop = loop
        self.address = handle.address
    }

    /// Connects (libpq's connect blocks, bounded by the configuration's connect time-out, so it
    /// runs on a dispatch thread of its own), then hands the socket to an event loop: the one
    /// the calling task prefers (see `PostgresPool.withLoopAffinity`), else the next in turn.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection {
        let handle = try await withCheckedThrowingContinuation { continuation in
            connectQueue.async {
                continuation.resume(with: Result { try UncheckedBox(PGConnectionHandle.connect(configuration, logger: logger)) })
            }
        }.value
        let loop = SocketEventLoop.preferredByCurrentTask ?? SocketEventLoop.next()
        try handle.attach(to: loop)
        return PostgresConnection(handle: handle, loop: loop)
    }

    // MARK: - Statements

    /// Runs a statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        PostgresStatementCount.add(1)
        return try await run { try await $0.execute(query) }
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        PostgresStatementCount.add(1)
        return try await run { try await $0.execute(query).affectedRows }
    }

    /// Inside a transaction, holds a statement whose result is not needed and sends it with the
    /// transaction's next statement or its COMMIT, in the same round trip (a write made while
    /// row locks are held then adds no wait of its own). Its error is thrown by that statement or
    /// the COMMIT, and the transaction is rolled back. Outside a transaction it runs now. The
    /// returned result tells, once that round trip was answered, what the statement came to.
    @discardableResult
    public func executeDeferred(_ query: PostgresQuery) async throws -> PostgresDeferredResult {
        PostgresStatementCount.add(1)
        return try await run { try await $0.deferStatement(query) }
    }

    /// Runs trusted SQL text that may hold several statements and takes no parameters
    /// (migrations, fixed DDL). Never pass text that contains outside input.
    public func executeScript(_ sql: String) async throws {
        try await run { try await $0.executeScript(sql) }
    }

    /// Sends all statements in one round trip (pipeline mode) and returns their results in order.
    /// Outside a transaction the batch is atomic: one failure rolls all of it back.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        PostgresStatementCount.add(queries.count)
        return try await run { try await $0.pipeline(queries) }
    }

    // MARK: - Lifecycle

    /// Whether the connection can be handed to the next user: connected and outside any
    /// transaction. Read only by the task that holds the connection, while nothing runs on it.
    public var isReusable: Bool { !cancelRequested.load(ordering: .relaxed) && handle.isIdleAndHealthy }

    // MARK: - Running calls

    /// Runs `work` on the connection's loop. Cancelling the task asks the server to cancel the
    /// running statement (`PQcancel` is the one libpq call that is safe from another thread).
    /// A cancellation that comes before the statement reaches the server (the task was cancelled
    /// while the connection was being set up) fails it the same way, instead of being lost.
    func run<T: Sendable>(_ work: (PGConnectionHandle) async throws -> T) async throws -> T {
        guard inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw PostgresError(
                .invalidValue, "the connection to \(address) is already running a statement for another task; lease one per task",
                server: address)
        }
        defer { inUse.store(false, ordering: .releasing) }
        return try await withTaskExecutorPreference(loop) {
            try await withTaskCancellationHandler {
                guard !self.cancelRequested.load(ordering: .relaxed), !Task.isCancelled else {
                    throw PostgresError(.server, "canceling statement due to user request (before it started)", sqlState: "57014", server: self.address)
                }
                try self.handle.checkUsable()
                return try await work(self.handle)
            } onCancel: { self.requestCancel() }
        }
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
/// Where connects wait for the server (libpq's connect blocks), off Swift's cooperative threads.
private let connectQueue = DispatchQueue(label: "emporium.postgres.connect", attributes: .concurrent)

/// Carries a value that is not `Sendable` out of the thread that made it, to its only user.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
