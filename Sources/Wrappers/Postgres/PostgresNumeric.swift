public import Foundation

/// A `numeric` value kept exactly as the server sent it, convertible to `Decimal` or to integer
/// minor units (cents) without rounding.
public struct PostgresNumeric: PostgresDecodable, PostgresArrayElement, Hashable {
    public static var postgresType: PostgresDataType { .numeric }
    public static var postgresArrayType: PostgresDataType { .numericArray }

    /// The decimal text, e.g. `-12.50`.
    public let text: String
    public var postgresText: String { text }

    /// `nil` unless `text` is a plain decimal number.
    public init?(_ text: String) {
        var digits = 0
        var dots = 0
        for (index, c) in text.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "."): dots += 1
            case UInt8(ascii: "-"), UInt8(ascii: "+"): if index != 0 { return nil }
            default: return nil
            }
        }
        guard digits > 0, dots <= 1 else { return nil }
        self.text = text
    }

    /// Minor units at `scale` decimal places: `12.34` at scale 2 is `1234`. Throws when the value
    /// has more decimal places than `scale` (it would have to be rounded) or does not fit.
    public func minorUnits(scale: Int) throws(PostgresError) -> Int64 {
        do {
            return try exactMinorUnits(scale: scale)
        } catch {
            throw PostgresError(.decoding, error.reason)
        }
    }

    private func exactMinorUnits(scale: Int) throws(PostgresDecodingFailure) -> Int64 {
        let negative = text.hasPrefix("-")
        let unsigned = text.drop(while: { $0 == "-" || $0 == "+" })
        let parts = unsigned.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0]
        var fraction = parts.count > 1 ? parts[1] : ""
        while fraction.count > scale, fraction.last == "0" { fraction = fraction.dropLast() }
        guard fraction.count <= scale else {
            throw PostgresDecodingFailure("\(text) has more than \(scale) decimal places")
        }
        let digits = (whole.isEmpty ? "0" : whole) + fraction + String(repeating: "0", count: scale - fraction.count)
        guard let magnitude = Int64(digits) else {
            throw PostgresDecodingFailure("\(text) does not fit in 64-bit minor units")
        }
        return negative ? -magnitude : magnitude
    }

    /// The value as `Decimal`; throws if it has more significant digits than `Decimal` keeps.
    public var decimal: Decimal {
        get throws(PostgresError) {
            do {
                return try exactDecimal()
            } catch {
                throw PostgresError(.decoding, error.reason)
            }
        }
    }

    func exactDecimal() throws(PostgresDecodingFailure) -> Decimal {
        let significant = text.drop(while: { !$0.isNumber || $0 == "0" }).filter(\.isNumber)
        guard significant.count <= 38, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw PostgresDecodingFailure("\(text) does not fit in Decimal without rounding")
        }
        return value
    }

    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> PostgresNumeric {
        guard let value = PostgresNumeric(String(text)) else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" (\(type)) is not a finite decimal number")
        }
        return value
    }
}
