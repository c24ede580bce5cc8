/// An error from the Redis wrapper: connecting, a command the server refused, an unexpected reply.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case server = "server error"
            case unexpectedReply = "unexpected reply"
            case poolClosed = "pool closed"
            case poolTimeout = "timed out waiting for a pooled connection"
            case invalidConfiguration = "invalid configuration"
        }
        let base: Base

        public static let connectionFailed = Code(base: .connectionFailed)
        public static let connectionClosed = Code(base: .connectionClosed)
        public static let server = Code(base: .server)
        public static let unexpectedReply = Code(base: .unexpectedReply)
        public static let poolClosed = Code(base: .poolClosed)
        public static let poolTimeout = Code(base: .poolTimeout)
        public static let invalidConfiguration = Code(base: .invalidConfiguration)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// hiredis's error code (`REDIS_ERR_IO`, `REDIS_ERR_EOF`, ...) for connection errors.
    public let nativeCode: Int32?
    /// The server, as `host:port`.
    public let server: String?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, nativeCode: Int32? = nil, server: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
        self.server = server
        self.file = file
        self.line = line
    }

    /// The first word of a server error (`NOSCRIPT`, `WRONGTYPE`, `ERR`, ...).
    public var serverErrorPrefix: String? {
        code == .server ? message.split(separator: " ", maxSplits: 1).first.map(String.init) : nil
    }

    /// Whether trying again may succeed: lost connections, an exhausted pool, a server that is
    /// loading, busy with a script or failing over.
    public var isRetriable: Bool {
        switch code.base {
        case .connectionFailed, .connectionClosed, .poolTimeout: return true
        case .server: return ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"].contains(serverErrorPrefix ?? "")
        case .unexpectedReply, .poolClosed, .invalidConfiguration: return false
        }
    }

    public var description: String {
        var text = "Redis \(code)"
        if let server { text += " (\(server))" }
        return text + ": \(message)"
    }
}
