public import Foundation
import ConnectionPool

/// Why a cell could not become the requested Swift type. ``PostgresRow`` turns it into a
/// ``PostgresError`` that names the column.
public struct PostgresDecodingFailure: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// A Swift type a result cell (text format) can be decoded into.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL cell of the given column type.
    static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Self
    /// The value for a NULL cell; throws unless the type is optional.
    static func decodeNull() throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws -> Self {
        throw PostgresDecodingFailure("unexpected NULL for \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Wrapped? {
        try Wrapped.decode(postgresText: text, type: type)
    }
    public static func decodeNull() throws -> Wrapped? { nil }
}

// MARK: - Scalars

extension String: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> String {
        String(text)
    }
}

extension FixedWidthInteger where Self: PostgresDecodable {
    fileprivate static func decodeInteger(_ text: Substring, _ type: PostgresDataType) throws -> Self {
        guard let value = Self(text) else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" (\(type)) is not a \(Self.self)")
        }
        return value
    }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Int {
        try decodeInteger(text, type)
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Int64 {
        try decodeInteger(text, type)
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Int32 {
        try decodeInteger(text, type)
    }
}

extension Int16: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Int16 {
        try decodeInteger(text, type)
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Bool {
        switch text {
        case "t": return true
        case "f": return false
        default: throw PostgresDecodingFailure("\"\(text.prefix(40))\" (\(type)) is not a boolean")
        }
    }
}

extension Double: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Double {
        guard type != .numeric || text == "NaN" || Decimal(string: String(text)) != nil,
            let value = Double(text == "Infinity" ? "inf" : text == "-Infinity" ? "-inf" : text)
        else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" (\(type)) is not a floating-point number")
        }
        return value
    }
}

extension Decimal: PostgresDecodable {
    /// Exact: refuses a value with more significant digits than `Decimal` holds (38).
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Decimal {
        try PostgresNumeric.decode(postgresText: text, type: type).exactDecimal()
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> UUID {
        guard let id = UUID(text: text) else { throw PostgresDecodingFailure("\"\(text.prefix(40))\" (\(type)) is not a UUID") }
        return id
    }
}

extension Date: PostgresDecodable {
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Date {
        guard type == .timestamptz || type == .timestamp || type == .unspecified || type == .text else {
            throw PostgresDecodingFailure("expected timestamptz, got \(type)")
        }
        guard let value = PostgresTimestamp.parse(text) else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not a timestamp")
        }
        return value
    }
}

extension Data: PostgresDecodable {
    /// bytea in the hex output format (`\x...`), PostgreSQL's default.
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> Data {
        let bytes = text.utf8
        guard bytes.count % 2 == 0, bytes.starts(with: "\\x".utf8) else {
            throw PostgresDecodingFailure("expected bytea in hex format, got \(type)")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresDecodingFailure("invalid hex digit in bytea")
            }
        }
        var data = Data(capacity: bytes.count / 2 - 1)
        var iterator = bytes.dropFirst(2).makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            data.append(try nibble(high) << 4 | nibble(low))
        }
        return data
    }
}

// MARK: - Arrays

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// A one-dimensional array literal; NULL elements decode through `Element.decodeNull()`.
    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> [Element] {
        let elementType = PostgresArrayLiteral.elementType(of: type)
        return try PostgresArrayLiteral.parse(text).map { element in
            guard let element else { return try Element.decodeNull() }
            return try Element.decode(postgresText: Substring(element), type: elementType)
        }
    }
}
