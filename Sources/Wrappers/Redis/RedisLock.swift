import ConnectionPool

/// A lease on a key: `SET key token NX PX ttl` with a random token. Release and extend compare the
/// token first (in one Lua script), so a holder whose lease ran out can neither release nor extend
/// the lock someone else now holds.
public struct RedisLock: Sendable {
    public let key: String
    /// 128 random bits from the system's CSPRNG, in hex.
    public let token: String
    public let timeToLive: Duration
    private let pool: RedisPool

    static let releaseScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
        """)
    static let extendScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end
        """)

    /// Tries to take the lock, retrying every `retryInterval` for up to `wait`. Returns `nil` if
    /// someone else still holds it then.
    public static func acquire(
        _ key: String, timeToLive: Duration, on pool: RedisPool,
        wait: Duration = .zero, retryInterval: Duration = .milliseconds(10)
    ) async throws -> RedisLock? {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        let deadline = ContinuousClock.now + wait
        while true {
            if try await pool.set(key, to: RedisArgument(token), condition: .ifNotExists, expiration: .after(timeToLive)) {
                return RedisLock(key: key, token: token, timeToLive: timeToLive, pool: pool)
            }
            guard ContinuousClock.now + retryInterval <= deadline else { return nil }
            try await Task.sleep(for: retryInterval)
        }
    }

    /// Deletes the key if this lock still holds it. Returns whether it did.
    @discardableResult
    public func release() async throws -> Bool {
        try await pool.evaluate(Self.releaseScript, keys: [RedisArgument(key)], arguments: [RedisArgument(token)]) == .integer(1)
    }

    /// Resets the time to live to `duration` if this lock still holds the key. Returns whether it did.
    @discardableResult
    public func extend(to duration: Duration) async throws -> Bool {
        try await pool.evaluate(
            Self.extendScript, keys: [RedisArgument(key)],
            arguments: [RedisArgument(token), RedisArgument(max(1, duration.wholeMilliseconds))]) == .integer(1)
    }
}

extension RedisPool {
    /// Runs `body` while holding the lock on `key`, then releases it. Returns `nil` without running
    /// `body` if the lock could not be had within `wait`.
    public func withLock<R: Sendable>(
        _ key: String, timeToLive: Duration, wait: Duration = .zero,
        _ body: (RedisLock) async throws -> R
    ) async throws -> R? {
        guard let lock = try await RedisLock.acquire(key, timeToLive: timeToLive, on: self, wait: wait) else { return nil }
        do {
            let result = try await body(lock)
            try await lock.release()
            return result
        } catch {
            _ = try? await lock.release()
            throw error
        }
    }
}
