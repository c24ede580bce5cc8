import ConnectionPool

/// When SET writes: always, only if the key is absent (NX), or only if present (XX).
public struct RedisSetCondition: Sendable, Hashable {
    let argument: RedisArgument?
    public static let always = Self(argument: nil)
    public static let ifNotExists = Self(argument: "NX")
    public static let ifExists = Self(argument: "XX")
}

/// A key's time to live for SET: whole seconds (EX) or milliseconds (PX).
public struct RedisExpiration: Sendable, Hashable {
    let arguments: [RedisArgument]
    public static func seconds(_ value: Int) -> Self { Self(arguments: ["EX", RedisArgument(value)]) }
    public static func milliseconds(_ value: Int) -> Self { Self(arguments: ["PX", RedisArgument(value)]) }
    /// PX with the duration in milliseconds (at least 1).
    public static func after(_ duration: Duration) -> Self { .milliseconds(max(1, duration.wholeMilliseconds)) }
}

extension RedisPool {
    /// GET: the value, or `nil` when the key does not exist.
    public func get(_ key: String) async throws -> [UInt8]? {
        switch try await command(["GET", RedisArgument(key)]) {
        case .null: return nil
        case .bulkString(let bytes): return bytes
        case let other: throw RedisError(.unexpectedReply, "GET returned \(other)", server: address)
        }
    }

    /// GET, decoded as UTF-8.
    public func getString(_ key: String) async throws -> String? {
        try await get(key).map { String(decoding: $0, as: UTF8.self) }
    }

    /// SET with an optional condition and expiry. Returns whether the value was written (false
    /// when NX/XX kept it from being written).
    @discardableResult
    public func set(
        _ key: String, to value: RedisArgument,
        condition: RedisSetCondition = .always, expiration: RedisExpiration? = nil
    ) async throws -> Bool {
        var arguments: [RedisArgument] = ["SET", RedisArgument(key), value]
        if let expiration { arguments += expiration.arguments }
        if let condition = condition.argument { arguments.append(condition) }
        switch try await command(arguments) {
        case .simpleString("OK"): return true
        case .null: return false
        case let other: throw RedisError(.unexpectedReply, "SET returned \(other)", server: address)
        }
    }

    /// DEL: how many of the keys existed.
    @discardableResult
    public func delete(_ keys: String...) async throws -> Int {
        try await integer(["DEL"] + keys.map { RedisArgument($0) })
    }

    /// INCRBY (INCR for 1): the new value.
    @discardableResult
    public func increment(_ key: String, by amount: Int = 1) async throws -> Int {
        amount == 1
            ? try await integer(["INCR", RedisArgument(key)])
            : try await integer(["INCRBY", RedisArgument(key), RedisArgument(amount)])
    }

    /// EXPIRE (whole seconds) or PEXPIRE: whether the key exists and got the time-out.
    @discardableResult
    public func expire(_ key: String, after duration: Duration) async throws -> Bool {
        let milliseconds = duration.wholeMilliseconds
        return milliseconds % 1000 == 0
            ? try await integer(["EXPIRE", RedisArgument(key), RedisArgument(milliseconds / 1000)]) == 1
            : try await integer(["PEXPIRE", RedisArgument(key), RedisArgument(milliseconds)]) == 1
    }

    /// PTTL in milliseconds: -2 when the key does not exist, -1 when it has no expiry.
    public func pttl(_ key: String) async throws -> Int {
        try await integer(["PTTL", RedisArgument(key)])
    }

    /// Counts one more in `key`'s fixed window of `window`: INCR, the expiry set by the window's
    /// first count (and set again if it was ever lost, so a key never counts for ever), in one
    /// script. Returns the count so far and the milliseconds left in the window.
    public func countInWindow(_ key: String, window: Duration) async throws -> (count: Int, millisecondsLeft: Int) {
        let reply = try await evaluate(
            Self.windowCounter, keys: [RedisArgument(key)], arguments: [RedisArgument(max(1, window.wholeMilliseconds))])
        guard case .array(let values) = reply, values.count == 2, case .integer(let count) = values[0], case .integer(let left) = values[1] else {
            throw RedisError(.unexpectedReply, "the window counter returned \(reply)", server: address)
        }
        return (count, left)
    }

    static let windowCounter = RedisScript("""
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
        return {count, ttl}
        """)

    private func integer(_ arguments: [RedisArgument]) async throws -> Int {
        guard case .integer(let value) = try await command(arguments) else {
            throw RedisError(.unexpectedReply, "\(arguments.first.map { String(decoding: $0.bytes, as: UTF8.self) } ?? "") did not return an integer", server: address)
        }
        return value
    }
}
