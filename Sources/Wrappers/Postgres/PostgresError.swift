/// An error from the PostgreSQL wrapper: connecting, running SQL, or decoding a row.
///
/// Retry logic decides on ``isRetriable``; ``sqlState`` carries the server's SQLSTATE when the
/// server reported the error.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case server = "server error"
            case decoding = "decoding failed"
            case poolClosed = "pool closed"
            case poolTimeout = "timed out waiting for a pooled connection"
            case migration = "migration failed"
            case invalidConfiguration = "invalid configuration"
            case invalidValue = "invalid value"
        }
        let base: Base

        public static let connectionFailed = Code(base: .connectionFailed)
        public static let connectionClosed = Code(base: .connectionClosed)
        public static let server = Code(base: .server)
        public static let decoding = Code(base: .decoding)
        public static let poolClosed = Code(base: .poolClosed)
        public static let poolTimeout = Code(base: .poolTimeout)
        public static let migration = Code(base: .migration)
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        public static let invalidValue = Code(base: .invalidValue)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The message: libpq's or the server's primary message, or the wrapper's own.
    public let message: String
    /// The five-character SQLSTATE for server errors, such as `23505` for a unique violation.
    public let sqlState: String?
    /// The server's DETAIL field, when it sent one.
    public let detail: String?
    /// The constraint a server error names, when it names one (a check, unique or foreign key
    /// violation): `stock_available_check`, say.
    public let constraint: String?
    /// The server this error concerns, as `host:port`.
    public let server: String?
    /// For decoding errors, the column that could not be decoded.
    public let column: String?
    public let file: String
    public let line: Int

    init(
        _ code: Code, _ message: String, sqlState: String? = nil, detail: String? = nil, constraint: String? = nil,
        server: String? = nil, column: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
        self.server = server
        self.column = column
        self.file = file
        self.line = line
    }

    /// Whether trying the same operation again may succeed: lost connections, serialization
    /// failures, deadlocks, a server starting or shutting down, a server that is (still) read-only
    /// (25006: a primary demoted, or not yet promoted, during a failover), an exhausted pool.
    public var isRetriable: Bool {
        switch code.base {
        case .connectionFailed, .connectionClosed, .poolTimeout:
            return true
        case .server:
            guard let state = sqlState else { return false }
            return state == "40001" || state == "40P01" || state.hasPrefix("08") || state.hasPrefix("53")
                || state == "57P01" || state == "57P02" || state == "57P03" || state == "25006"
        case .decoding, .poolClosed, .migration, .invalidConfiguration, .invalidValue:
            return false
        }
    }

    /// Whether the error means the connection itself is unusable (as opposed to one statement failing).
    public var isConnectionLoss: Bool {
        code == .connectionClosed || code == .connectionFailed
            || (code == .server && (sqlState?.hasPrefix("08") ?? false || sqlState == "57P01"))
    }

    /// The SQLSTATE of a unique violation, for callers that treat it as "already done".
    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = "PostgreSQL \(code)"
        if let server { text += " (\(server))" }
        if let sqlState { text += " [\(sqlState)]" }
        if let column { text += " column \"\(column)\"" }
        text += ": \(message)"
        if let detail { text += " DETAIL: \(detail)" }
        return text
    }
}
