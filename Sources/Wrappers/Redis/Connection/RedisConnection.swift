public import ConnectionPool

/// One connection to Redis. hiredis blocks, so every call runs on this connection's own serial
/// queue, never on Swift's cooperative pool; the queue serializes calls, which is what makes
/// sharing the object safe (`@unchecked Sendable`). Pools hand it to one task at a time.
public final class RedisConnection: PooledConnection, @unchecked Sendable {
    private let handle: RedisContextHandle
    let queue: BlockingCallQueue
    /// The thread this connection's C calls run on.
    public var executor: any TaskExecutor { queue }
    public let address: String

    private init(handle: RedisContextHandle, queue: BlockingCallQueue) {
        self.handle = handle
        self.queue = queue
        self.address = handle.address
    }

    /// Connects (bounded by the configuration's connect time-out), authenticates, selects the database.
    public static func connect(_ configuration: RedisConfiguration) async throws -> RedisConnection {
        let queue = BlockingCallQueue(label: "emporium.redis.\(configuration.address)")
        return try await queue.run {
            RedisConnection(handle: try RedisContextHandle.connect(configuration), queue: queue)
        }
    }

    /// Sends one command; an error reply throws ``RedisError`` with code `.server`.
    @discardableResult
    public func command(_ arguments: [RedisArgument]) async throws -> RedisValue {
        try await queue.run { try self.handle.command(arguments) }
    }

    /// Sends all commands, then reads all replies: one round trip. Error replies come back as
    /// ``RedisValue/error(_:)`` in their place.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        try await queue.run { try self.handle.pipeline(commands) }
    }

    public var isReusable: Bool { handle.isUsable }
}
