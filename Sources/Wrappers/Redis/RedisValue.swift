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

/// One argument of a command. Strings, integers and byte arrays convert to it; short strings
/// (up to 15 UTF-8 bytes: most keys, numbers and command names) are stored inline, without an
/// allocation.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable {
        case text(String)
        case bytes([UInt8])
    }
    let storage: Storage

    public init(_ bytes: [UInt8]) { self.storage = .bytes(bytes) }
    public init(_ string: String) { self.storage = .text(string) }
    public init(_ integer: Int) { self.storage = .text(String(integer)) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }

    /// The argument's bytes.
    public var bytes: [UInt8] {
        switch storage {
        case .text(let text): Array(text.utf8)
        case .bytes(let bytes): bytes
        }
    }

    var count: Int {
        switch storage {
        case .text(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        }
    }

    public static func == (lhs: RedisArgument, rhs: RedisArgument) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// Calls `body` with the bytes in place, without copying them into an array.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch storage {
        case .text(var text): text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .bytes(let bytes): bytes.withUnsafeBytes(body)
        }
    }
}
