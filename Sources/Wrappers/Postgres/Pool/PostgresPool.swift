public import ConnectionPool
public import Logging
public import ServiceLifecycle

extension PostgresConnection: PooledConnection {}

/// A pool of connections to one PostgreSQL server.
///
/// Connections open on demand up to the configured maximum; a caller that finds none free waits
/// (bounded by `acquireTimeout`). A connection that comes back broken, or still inside a
/// transaction, is dropped. As a `Service`, the pool closes its connections on graceful shutdown.
public final class PostgresPool: Service, Sendable {
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let pool: ConnectionPool<PostgresConnection>

    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(
            maximumConnections: configuration.maximumConnections, acquireTimeout: configuration.acquireTimeout
        ) {
            try await PostgresConnection.connect(configuration, logger: logger)
        }
    }

    /// The server, as `host:port`.
    public var address: String { configuration.address }

    /// Runs `body` with a connection of its own; the connection goes back to the pool afterwards.
    /// `body` runs on the connection's event loop, so its statements do not hop threads.
    @discardableResult
    public func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await pool.withConnection(mapError: { [address, pool] error in
            error == .closed
                ? PostgresError(.poolClosed, "the connection pool for \(address) is closed", server: address)
                : PostgresError(.poolTimeout, "no connection to \(address) became free within \(pool.acquireTimeout)", server: address)
        }, body)
    }

    /// Runs `body` on one of the process's connection event loops, for a long-lived caller that
    /// leases a connection per transaction (the relay's loops, a benchmark client).
    ///
    /// A lease taken inside prefers an idle connection of that loop, and a new connection joins
    /// it, so the caller's code and its connection share a thread: no hand-off onto the loop at
    /// the lease and none back when the connection is returned. Without it each lease costs two
    /// (the caller's thread to the loop and back); so does a lease that finds only other loops'
    /// connections idle, or waits in line (it takes what comes back first). Keep `body` free of
    /// long CPU-bound work: it runs on the thread that serves every connection of that loop. An
    /// actor's code stays on its actor's executor; only code without isolation moves.
    public static func withLoopAffinity<R>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
    ) async rethrows -> R {
        try await withTaskExecutorPreference(SocketEventLoop.next(), isolation: isolation, operation: body)
    }

    /// One of the process's connection event loops, in turn: the executor to start a task on
    /// (`addTask(executorPreference:)`) that should run as under ``withLoopAffinity(isolation:_:)``
    /// from its first line, without a hop onto the loop at its start and back at its end.
    public static func nextEventLoop() -> any TaskExecutor {
        SocketEventLoop.next()
    }

    /// Runs `body` inside a transaction: committed when `body` returns, rolled back when it throws.
    @discardableResult
    public func withTransaction<R: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        plans: PostgresPlanChoice = .server,
        commit: PostgresCommit = .synchronous,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        try await withConnection { connection in
            try await connection.withTransaction(isolation: isolation, plans: plans, commit: commit, body)
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

    // MARK: - Service

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Closes idle connections and fails waiters; leased connections close when they come back.
    public func close() {
        let closed = pool.close()
        logger.debug("postgres pool closed", metadata: ["postgres.server": "\(address)", "closed": "\(closed)"])
    }
}
