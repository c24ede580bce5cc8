public import Logging
public import ServiceLifecycle
import Synchronization

/// A pool of connections to one PostgreSQL server.
///
/// Connections open on demand up to the configured maximum; a caller that finds none free waits
/// (bounded by `acquireTimeout`). A connection that comes back broken, or still inside a
/// transaction, is dropped. As a `Service`, the pool closes its connections on graceful shutdown.
public final class PostgresPool: Service, Sendable {
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let state: Mutex<PoolStateMachine<PostgresConnection>>

    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(PoolStateMachine(maximum: configuration.maximumConnections))
    }

    /// The server, as `host:port`.
    public var address: String { configuration.address }

    // MARK: - Leasing

    /// Runs `body` with a connection of its own; the connection goes back to the pool afterwards.
    public func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let connection = try await lease()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs `body` inside a transaction: committed when `body` returns, rolled back when it throws.
    public func withTransaction<R: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        try await withConnection { connection in
            try await connection.withTransaction(isolation: isolation, body)
        }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Runs one statement on a pooled connection and returns the rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { try await $0.execute(query) }
    }

    /// Sends a batch in one round trip (see ``PostgresConnection/pipeline(_:)``).
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        try await withConnection { try await $0.pipeline(queries) }
    }

    func lease() async throws -> PostgresConnection {
        switch state.withLock({ $0.lease() }) {
        case .use(let connection): return connection
        case .create: return try await open()
        case .fail(let error): throw error
        case .wait: return try await waitForConnection()
        }
    }

    func release(_ connection: PostgresConnection) {
        let action = state.withLock { $0.release(connection, reusable: connection.isReusable) }
        perform(action)
    }

    private func open() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration, logger: logger)
        } catch {
            perform(state.withLock { $0.creationFailed() })
            throw error
        }
    }

    private func perform(_ action: PoolStateMachine<PostgresConnection>.ReleaseAction) {
        switch action {
        case .none: break
        case .hand(let connection, let continuation): continuation.resume(returning: .connection(connection))
        case .letCreate(let continuation): continuation.resume(returning: .create)
        case .reject(let continuation): continuation.resume(throwing: PostgresError(.poolClosed, "the connection pool is closed"))
        }
    }

    private func waitForConnection() async throws -> PostgresConnection {
        let id = state.withLock { $0.makeWaiterID() }
        let timeout = configuration.acquireTimeout
        let address = configuration.address
        // Fails the waiter if nothing came back in time.
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            let abandoned = state.withLock { $0.abandon(id: id) }
            abandoned?.resume(throwing: PostgresError(
                .poolTimeout, "no connection to \(address) became free within \(timeout)", server: address))
        }
        defer { timer.cancel() }
        let grant = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PoolStateMachine<PostgresConnection>.Grant, any Error>) in
                perform(state.withLock { $0.wait(id: id, continuation) })
            }
        } onCancel: {
            state.withLock { $0.abandon(id: id) }?.resume(throwing: CancellationError())
        }
        switch grant {
        case .connection(let connection): return connection
        case .create: return try await open()
        }
    }

    // MARK: - Service

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Closes idle connections and fails waiters; leased connections close when they come back.
    public func close() {
        let (idle, waiters) = state.withLock { $0.close() }
        for waiter in waiters { waiter.resume(throwing: PostgresError(.poolClosed, "the connection pool is closed")) }
        if !idle.isEmpty {
            logger.debug("closing idle postgres connections", metadata: ["postgres.server": "\(address)", "count": "\(idle.count)"])
        }
    }
}
