import ConnectionPool
public import Logging
public import ServiceLifecycle
import Synchronization

/// A pool of Redis connections, with the commands Emporium uses and a generic ``command(_:)``.
///
/// As a `Service`, it closes its connections on graceful shutdown.
public final class RedisPool: Service, Sendable {
    public let configuration: RedisConfiguration
    private let logger: Logger
    private let pool: ConnectionPool<RedisConnection>
    /// Script source to its SHA-1 on the server, filled by SCRIPT LOAD.
    private let scriptDigests = Mutex<[String: String]>([:])

    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(
            maximumConnections: configuration.maximumConnections, acquireTimeout: configuration.acquireTimeout
        ) {
            try await RedisConnection.connect(configuration)
        }
    }

    public var address: String { configuration.address }

    /// Runs `body` with a connection of its own (for several commands in a row), on the
    /// connection's own thread.
    @discardableResult
    public func withConnection<R: Sendable>(_ body: (RedisConnection) async throws -> R) async throws -> R {
        try await pool.withConnection(mapError: { [address, pool] error in
            error == .closed
                ? RedisError(.poolClosed, "the connection pool for \(address) is closed", server: address)
                : RedisError(.poolTimeout, "no connection to \(address) became free within \(pool.acquireTimeout)", server: address)
        }, body)
    }

    /// Sends one command on a pooled connection.
    @discardableResult
    public func command(_ arguments: [RedisArgument]) async throws -> RedisValue {
        try await withConnection { try await $0.command(arguments) }
    }

    /// Sends the commands in one round trip on a pooled connection; replies come back in order,
    /// error replies in place as ``RedisValue/error(_:)``.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    // MARK: - Scripts

    /// Runs a Lua script by its digest (EVALSHA), loading it first if the server does not know it
    /// (after a restart or SCRIPT FLUSH), so the source crosses the network once per server.
    public func evaluate(_ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        let known = scriptDigests.withLock { $0[script.source] }
        let digest: String
        if let known { digest = known } else { digest = try await load(script) }
        do {
            return try await evaluate(digest: digest, keys: keys, arguments: arguments)
        } catch let error as RedisError where error.serverErrorPrefix == "NOSCRIPT" {
            return try await evaluate(digest: try await load(script), keys: keys, arguments: arguments)
        }
    }

    /// EVALSHA with a digest from SCRIPT LOAD.
    public func evaluate(digest: String, keys: [RedisArgument] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        try await command(["EVALSHA", RedisArgument(digest), RedisArgument(keys.count)] + keys + arguments)
    }

    /// EVAL: sends the whole script every time; prefer ``evaluate(_:keys:arguments:)``.
    public func eval(_ source: String, keys: [RedisArgument] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        try await command(["EVAL", RedisArgument(source), RedisArgument(keys.count)] + keys + arguments)
    }

    /// SCRIPT LOAD; returns and caches the digest.
    @discardableResult
    public func load(_ script: RedisScript) async throws -> String {
        guard let digest = try await command(["SCRIPT", "LOAD", RedisArgument(script.source)]).string else {
            throw RedisError(.unexpectedReply, "SCRIPT LOAD returned no digest", server: address)
        }
        scriptDigests.withLock { $0[script.source] = digest }
        return digest
    }

    // MARK: - Service

    /// Waits for graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    public func close() {
        let closed = pool.close()
        logger.debug("redis pool closed", metadata: ["redis.server": "\(address)", "closed": "\(closed)"])
    }
}

/// A Lua script, run with ``RedisPool/evaluate(_:keys:arguments:)``.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    public init(_ source: String) { self.source = source }
}
