/// A reply from Redis.
public enum RedisValue: Sendable, Hashable {
    case null
    case simpleString(String)
    case bulkString([UInt8])
    case integer(Int)
    case array([RedisValue])
    /// An error reply; single commands throw it as ``RedisError`` instead, pipelines return it in place.
    case error(String)

    /// The value as text, for simple and bulk strings and integers.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var integer: Int? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int($0) }
        default: nil
        }
    }

    public var isNull: Bool { self == .null }
}

/// One argument of a command, as bytes. Strings, integers and byte arrays convert to it.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(_ integer: Int) { self.bytes = Array(String(integer).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
