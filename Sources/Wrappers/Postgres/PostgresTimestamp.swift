import ConnectionPool
import Foundation

/// Text conversion of `timestamptz` in the ISO style the connection asks for
/// (`2026-11-21 23:18:33.123456+00`), by hand (``TimestampText``).
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        if date == .distantFuture { return "infinity" }
        if date == .distantPast { return "-infinity" }
        return TimestampText.format(date, separator: " ", fraction: .microseconds, zone: "+00")
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]` (no zone means UTC), `infinity` and `-infinity`.
    static func parse(_ text: Substring) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        return TimestampText.parse(text, allowsSpace: true, requiresZone: false)
    }
}
