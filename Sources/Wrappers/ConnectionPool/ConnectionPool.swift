import Synchronization

/// A connection a ``ConnectionPool`` can hold.
public protocol PooledConnection: AnyObject, Sendable {
    /// Whether the connection can go to the next user. Asked only by the task that holds it,
    /// when it gives it back.
    var isReusable: Bool { get }
    /// Where the connection's C calls run; the holder's code runs there too.
    var executor: any TaskExecutor { get }
}

/// Why the pool could not hand out a connection; each wrapper maps these to its own error type.
public struct ConnectionPoolError: Error, Sendable, Hashable {
    enum Base: Sendable, Hashable { case closed, timedOut }
    let base: Base
    public static let closed = Self(base: .closed)
    public static let timedOut = Self(base: .timedOut)
}

/// The pool both data-store wrappers share: connections open on demand up to a maximum, callers
/// beyond it wait in line (bounded by `acquireTimeout`), and a connection that comes back
/// unusable is dropped so the next caller opens a fresh one.
public final class ConnectionPool<Connection: PooledConnection>: Sendable {
    public typealias Connect = @Sendable () async throws -> Connection
    private typealias StateMachine = PoolStateMachine<Connection>

    private let state: Mutex<StateMachine>
    private let connect: Connect
    public let acquireTimeout: Duration

    public init(maximumConnections: Int, acquireTimeout: Duration, connect: @escaping Connect) {
        self.state = Mutex(StateMachine(maximum: maximumConnections))
        self.acquireTimeout = acquireTimeout
        self.connect = connect
    }

    /// Runs `body` with a connection of its own, on the connection's executor (so its calls do not
    /// hop threads), and takes the connection back afterwards. `mapError` turns the pool's own
    /// failures (closed, timed out) into the wrapper's error type.
    @discardableResult
    public func withConnection<R: Sendable>(
        mapError: (ConnectionPoolError) -> any Error = { $0 },
        _ body: (Connection) async throws -> R
    ) async throws -> R {
        let connection: Connection
        do {
            connection = try await lease()
        } catch let error as ConnectionPoolError {
            throw mapError(error)
        }
        do {
            let result = try await withTaskExecutorPreference(connection.executor) { try await body(connection) }
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// A connection for the caller alone; give it back with ``release(_:)``. An idle connection
    /// whose executor the calling task already prefers is taken first: the caller then runs its
    /// body without changing threads (see `PostgresPool.withLoopAffinity`).
    public func lease() async throws -> Connection {
        let here = withUnsafeCurrentTask { $0?.unownedTaskExecutor }
        let action = state.withLock { state in
            state.lease(preferring: { connection in here.map { connection.executor.asUnownedTaskExecutor() == $0 } ?? false })
        }
        switch action {
        case .use(let connection): return connection
        case .create: return try await open()
        case .fail: throw ConnectionPoolError.closed
        case .wait: return try await waitForConnection()
        }
    }

    public func release(_ connection: Connection) {
        let reusable = connection.isReusable
        perform(state.withLock { $0.release(connection, reusable: reusable) })
    }

    /// Closes the pool: idle connections are dropped (their `deinit` closes them), waiters fail,
    /// and leased connections are dropped when they come back. Returns how many idle ones closed.
    @discardableResult
    public func close() -> Int {
        let (idle, waiters) = state.withLock { $0.close() }
        for waiter in waiters { waiter.resume(throwing: ConnectionPoolError.closed) }
        return idle.count
    }

    // MARK: - Internals

    private func open() async throws -> Connection {
        do {
            return try await connect()
        } catch {
            perform(state.withLock { $0.creationFailed() })
            throw error
        }
    }

    private func perform(_ action: StateMachine.ReleaseAction) {
        switch action {
        case .none: break
        case .hand(let connection, let continuation): continuation.resume(returning: .connection(connection))
        case .letCreate(let continuation): continuation.resume(returning: .create)
        case .reject(let continuation, let reason): continuation.resume(throwing: reason)
        }
    }

    private func waitForConnection() async throws -> Connection {
        let id = state.withLock { $0.makeWaiterID() }
        // Fails the waiter if nothing came back in time.
        let timer = Task { [self] in
            try await Task.sleep(for: acquireTimeout)
            state.withLock { $0.abandon(id: id, reason: ConnectionPoolError.timedOut) }?.resume(throwing: ConnectionPoolError.timedOut)
        }
        defer {
            timer.cancel()
            state.withLock { $0.finish(id: id) }
        }
        let grant = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StateMachine.Grant, any Error>) in
                perform(state.withLock { $0.wait(id: id, continuation) })
            }
        } onCancel: {
            state.withLock { $0.abandon(id: id, reason: CancellationError()) }?.resume(throwing: CancellationError())
        }
        switch grant {
        case .connection(let connection): return connection
        case .create: return try await open()
        }
    }
}
