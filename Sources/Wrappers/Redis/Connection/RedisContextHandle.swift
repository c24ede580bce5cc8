import CHiredis
import Glibc

/// One connection's socket and reply parser (hiredis's reader; commands are formatted by hiredis
/// too, the I/O is ``RedisSocket``'s). Every method blocks; the owning ``RedisConnection`` runs
/// them on its queue, one at a time.
final class RedisContextHandle {
    private let socket: RedisSocket
    private let reader: UnsafeMutablePointer<redisReader>
    let address: String
    /// Set once an I/O or protocol error has left the stream in an unknown state.
    private var broken = false

    private init(socket: RedisSocket, reader: UnsafeMutablePointer<redisReader>) {
        self.socket = socket
        self.reader = reader
        self.address = socket.address
    }

    /// What each read from the socket lands in, before the reader takes it.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)

    deinit {
        redisReaderFree(reader)
        buffer.deallocate()
    }

    /// Connects (TLS too for `rediss://`), authenticates and selects the database; every error
    /// names the server.
    static func connect(_ configuration: RedisConfiguration) throws -> RedisContextHandle {
        let socket = try RedisSocket.connect(configuration)
        guard let reader = redisReaderCreate() else {
            throw RedisError(.connectionFailed, "cannot allocate a Redis reply reader", server: configuration.address)
        }
        let handle = RedisContextHandle(socket: socket, reader: reader)
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

    /// False once an I/O or protocol error happened, or a command left state on the session that
    /// the next user would inherit (an open MULTI or WATCH, another database, subscriptions).
    var isUsable: Bool { !broken && session.isClean }

    private var session = RedisSessionState()

    // MARK: - Commands

    /// Sends one command and waits for its reply; an error reply throws.
    func command(_ arguments: [RedisArgument]) throws -> RedisValue {
        let value = try pipeline([arguments])[0]
        if case .error(let message) = value { throw RedisError(.server, message, server: address) }
        return value
    }

    /// Sends every command before reading the replies (pipelining); error replies come back in place.
    func pipeline(_ commands: [[RedisArgument]]) throws -> [RedisValue] {
        guard !broken else { throw RedisError(.connectionClosed, "Redis connection to \(address) failed earlier", server: address) }
        do {
            var request: [UInt8] = []
            for arguments in commands {
                session.record(arguments)
                try Self.format(arguments, into: &request)
            }
            try request.withUnsafeBytes { try socket.send($0) }
            var values: [RedisValue] = []
            values.reserveCapacity(commands.count)
            for _ in commands { values.append(try nextReply()) }
            return values
        } catch {
            broken = true
            throw error
        }
    }

    /// The next reply: parsed from what has arrived, reading more until one is complete.
    private func nextReply() throws -> RedisValue {
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &reply) == REDIS_OK else {
                throw RedisError(.connectionClosed, "Redis connection to \(address) failed: \(String(cString: emp_redis_reader_errstr(reader)))", server: address)
            }
            if let reply {
                defer { freeReplyObject(reply) }
                return Self.value(of: reply.assumingMemoryBound(to: redisReply.self))
            }
            let count = try socket.receive(into: buffer)
            let fed = redisReaderFeed(reader, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), count)
            guard fed == REDIS_OK else {
                throw RedisError(.connectionClosed, "Redis connection to \(address) failed: \(String(cString: emp_redis_reader_errstr(reader)))", server: address)
            }
        }
    }

    /// Appends `arguments` in the protocol's form (hiredis formats it).
    private static func format(_ arguments: [RedisArgument], into request: inout [UInt8]) throws {
        var command: UnsafeMutablePointer<CChar>?
        let length = withArgv(arguments) { count, argv, lengths in redisFormatCommandArgv(&command, count, argv, lengths) }
        guard length >= 0, let command else { throw RedisError(.connectionClosed, "cannot format a Redis command", server: "") }
        defer { redisFreeCommand(command) }
        command.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { request.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length))) }
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
