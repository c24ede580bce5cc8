public import Foundation
import ConnectionPool

/// A Swift value that can be sent as a statement parameter, in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter type sent with the statement; `.unspecified` lets the server infer it.
    static var postgresType: PostgresDataType { get }
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

/// A value that can also be an element of an array parameter.
public protocol PostgresArrayElement: PostgresEncodable {
    static var postgresArrayType: PostgresDataType { get }
}

// MARK: - Scalars

extension String: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .unspecified }
    public static var postgresArrayType: PostgresDataType { .textArray }
    public var postgresText: String { self }
}

extension Int: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public var postgresText: String { String(self) }
}

extension Int64: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public var postgresText: String { String(self) }
}

extension Int32: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int4 }
    public static var postgresArrayType: PostgresDataType { .int4Array }
    public var postgresText: String { String(self) }
}

extension Int16: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int2 }
    public static var postgresArrayType: PostgresDataType { .int2Array }
    public var postgresText: String { String(self) }
}

extension Bool: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .bool }
    public static var postgresArrayType: PostgresDataType { .boolArray }
    public var postgresText: String { self ? "t" : "f" }
}

extension Double: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .float8 }
    public static var postgresArrayType: PostgresDataType { .float8Array }
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
}

extension Decimal: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .numeric }
    public static var postgresArrayType: PostgresDataType { .numericArray }
    public var postgresText: String { description }
}

extension UUID: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .uuid }
    public static var postgresArrayType: PostgresDataType { .uuidArray }
    public var postgresText: String { lowercasedText }
}

extension Date: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .timestamptz }
    public static var postgresArrayType: PostgresDataType { .timestamptzArray }
    public var postgresText: String { PostgresTimestamp.format(self) }
}

extension Data: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .bytea }
    public static var postgresArrayType: PostgresDataType { .byteaArray }
    public var postgresText: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]("\\x".utf8)
        text.reserveCapacity(2 + count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

// MARK: - Arrays

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresType: PostgresDataType { Element.postgresArrayType }

    /// The array literal `{"a","b"}`, every element quoted and escaped. Inlinable, so that a
    /// caller's module builds it for its concrete element type: unspecialized, it took about 5 %
    /// of the API's and the product worker's CPU under load, much of that the runtime looking up
    /// generic types in its metadata caches (`perf`, 6 Dec 2026). An element without a quote or
    /// a backslash, nearly all of them, is appended whole.
    @inlinable
    public var postgresText: String {
        var text = "{"
        text.reserveCapacity(2 + count * 40)
        var first = true
        for element in self {
            if first { first = false } else { text.append(",") }
            let value = element.postgresText
            text.append("\"")
            if value.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                for character in value.unicodeScalars {
                    if character == "\"" || character == "\\" { text.unicodeScalars.append("\\") }
                    text.unicodeScalars.append(character)
                }
            } else {
                text.append(value)
            }
            text.append("\"")
        }
        text.append("}")
        return text
    }
}
