import CHiredis
import Glibc

/// Owns one `redisContext`. Every method blocks; the owning ``RedisConnection`` runs them on its
/// queue, one at a time (hiredis contexts are not thread-safe).
final class RedisContextHandle {
    private let context: UnsafeMutablePointer<redisContext>
    let address: String

    private init(context: UnsafeMutablePointer<redisContext>, address: String) {
        self.context = context
        self.address = address
    }

    deinit { redisFree(context) }

    /// Connects, authenticates and selects the database; every error names the server.
    static func connect(_ configuration: RedisConfiguration) throws -> RedisContextHandle {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            throw RedisError(.connectionFailed, "cannot allocate a Redis context", server: configuration.address)
        }
        guard emp_redis_err(context) == 0 else {
            let error = RedisError(
                .connectionFailed, "cannot connect to Redis at \(configuration.address): \(String(cString: emp_redis_errstr(context)))",
                nativeCode: emp_redis_err(context), server: configuration.address)
            redisFree(context)
            throw error
        }
        let handle = RedisContextHandle(context: context, address: configuration.address)
        guard redisSetTimeout(context, timeval(configuration.commandTimeout)) == REDIS_OK else {
            throw handle.contextError()
        }
        do {
            if let password = configuration.password { _ = try handle.command(["AUTH", RedisArgument(password)]) }
            if configuration.database != 0 { _ = try handle.command(["SELECT", RedisArgument(configuration.database)]) }
            // The configured session is the clean state.
            handle.session = RedisSessionState()
        } catch let error as RedisError {
            throw RedisError(.connectionFailed, "cannot connect to Redis at \(configuration.address): \(error.message)", server: configuration.address)
        }
        return handle
    }

    /// False once hiredis reported an I/O or protocol error, or a command left state on the
    /// session that the next user would inherit (an open MULTI or WATCH, another database,
    /// subscriptions).
    var isUsable: Bool { emp_redis_err(context) == 0 && session.isClean }

    private var session = RedisSessionState()

    // MARK: - Commands

    /// Sends one command and waits for its reply; an error reply throws.
    func command(_ arguments: [RedisArgument]) throws -> RedisValue {
        session.record(arguments)
        let reply = withArgv(arguments) { count, argv, lengths in redisCommandArgv(context, count, argv, lengths) }
        guard let reply else { throw contextError() }
        defer { freeReplyObject(reply) }
        let value = Self.value(of: reply.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value { throw RedisError(.server, message, server: address) }
        return value
    }

    /// Sends every command before reading the replies (pipelining); error replies come back in place.
    func pipeline(_ commands: [[RedisArgument]]) throws -> [RedisValue] {
        for arguments in commands {
            session.record(arguments)
            let appended = withArgv(arguments) { count, argv, lengths in redisAppendCommandArgv(context, count, argv, lengths) }
            guard appended == REDIS_OK else { throw contextError() }
        }
        var values: [RedisValue] = []
        values.reserveCapacity(commands.count)
        for _ in commands {
            var reply: UnsafeMutableRawPointer?
            guard redisGetReply(context, &reply) == REDIS_OK, let reply else { throw contextError() }
            values.append(Self.value(of: reply.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(reply)
        }
        return values
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        func text() -> String {
            guard let str = r.str else { return "" }
            return str.withMemoryRebound(to: UInt8.self, capacity: r.len) {
                String(decoding: UnsafeBufferPointer(start: $0, count: r.len), as: UTF8.self)
            }
        }
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulkString([]) }
            return .bulkString(str.withMemoryRebound(to: UInt8.self, capacity: r.len) { Array(UnsafeBufferPointer(start: $0, count: r.len)) })
        case REDIS_REPLY_INTEGER: return .integer(Int(r.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STATUS: return .simpleString(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { elements.append(value(of: element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .error("unknown reply type \(r.type)")
        }
    }

    private func contextError() -> RedisError {
        let code = emp_redis_err(context)
        let message = String(cString: emp_redis_errstr(context))
        let timedOut = code == REDIS_ERR_IO && (errno == EAGAIN || message.contains("temporarily unavailable"))
        return RedisError(
            .connectionClosed,
            timedOut ? "no reply from Redis at \(address) within the command time-out" : "Redis connection to \(address) failed: \(message)",
            nativeCode: code, server: address)
    }
}

/// Calls `body` with argc/argv/argvlen pointing into one contiguous copy of the arguments, kept in
/// stack-allocated scratch space (this runs for every command).
private func withArgv<R>(
    _ arguments: [RedisArgument],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
    var total = 1  // an empty argument still needs a valid pointer
    for argument in arguments { total += argument.count }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: total) { storage in
        withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: arguments.count) { argv in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: arguments.count) { lengths in
                var offset = 0
                for (index, argument) in arguments.enumerated() {
                    let start = storage.baseAddress! + offset
                    let count = argument.withUnsafeBytes { bytes in
                        UnsafeMutableRawBufferPointer(start: start, count: bytes.count).copyMemory(from: bytes)
                        return bytes.count
                    }
                    argv[index] = UnsafePointer(start)
                    lengths[index] = count
                    offset += count
                }
                return body(Int32(arguments.count), argv.baseAddress!, lengths.baseAddress!)
            }
        }
    }
}

private func timeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
