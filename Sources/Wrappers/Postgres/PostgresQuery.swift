/// A statement and its parameters. Values never become part of the SQL text: an interpolated
/// value becomes a `$n` placeholder and is sent separately.
///
/// ```swift
/// let rows = try await connection.query("SELECT name FROM catalog.products WHERE sku = \(sku)")
/// ```
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    public var sql: String
    public var binds: [PostgresBind]
    /// Whether the connection keeps the statement prepared under a name for its next use (the
    /// default). See ``unprepared()``.
    public var prepares = true

    /// The same statement, run unnamed (parsed and planned at each use, in one round trip): for
    /// text that changes from call to call, such as a literal that moves with every batch. Each
    /// new text would otherwise cost a round trip to prepare it and a slot in the connection's
    /// cache of prepared statements, which it fills for good.
    public func unprepared() -> PostgresQuery {
        var query = self
        query.prepares = false
        return query
    }

    /// A statement with explicit `$1...$n` placeholders and their values.
    public init(_ sql: String, binds: [PostgresBind] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        @usableFromInline var sql = ""
        @usableFromInline var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// Binds a value (or NULL, for `nil`) as the next `$n` parameter. Inlinable (as is
        /// ``PostgresBind/init(_:)``), so that each caller's module specializes it for the value's
        /// type instead of looking generic types up at run time on every statement.
        @inlinable
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(PostgresBind(value))
            sql += "$"
            sql += String(binds.count)
        }

        /// Binds a prepared bind as the next `$n` parameter.
        public mutating func appendInterpolation(bind: PostgresBind) {
            binds.append(bind)
            sql += "$\(binds.count)"
        }

        /// Inserts SQL text as is. Only for identifiers and fragments the program controls,
        /// never for values that came from outside.
        public mutating func appendInterpolation(unescaped fragment: String) { sql += fragment }
    }
}

/// One parameter value in PostgreSQL's text format, with its type.
public struct PostgresBind: Sendable, Hashable {
    public var type: PostgresDataType
    /// The text representation, or `nil` for NULL.
    public var text: String?

    public init(type: PostgresDataType, text: String?) {
        self.type = type
        self.text = text
    }

    @inlinable
    public init<Value: PostgresEncodable>(_ value: Value?) {
        self.type = Value.postgresType
        self.text = value?.postgresText
    }
}
