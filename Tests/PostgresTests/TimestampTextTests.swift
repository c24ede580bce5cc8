import ConnectionPool
import Foundation
import Postgres
import Testing

/// The hand-written timestamp and UUID text against the two references we replaced them for:
/// PostgreSQL's own reading and writing of `timestamptz` and `uuid`, and Foundation's.
@Suite("Timestamp and UUID text", .timeLimit(.minutes(1)))
struct TimestampTextTests {
    /// Times the calendar arithmetic can get wrong: around the epoch, leap days (2000 is one,
    /// 1900 and 2100 are not), year ends, the first and last years Postgres and ISO share.
    /// The last second of 9999, and the first of 10000 (five digits: Postgres writes them).
    static let seconds: [Double] = [
        0, -1, -86_400.5, 951_782_400, 951_868_799.999999, 4_107_542_400, -2_203_891_200, 1_795_303_113.123456,
        1_798_761_599.999_999, -62_135_596_800, 253_402_300_799, 253_402_300_800, -0.000_001, 68_256_000.5,
    ]

    @Test("Postgres reads the dates we write, and we read the dates Postgres writes")
    func againstPostgres() async throws {
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { pool.close() }
        var values = Self.seconds
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 { values.append(Double(Int64.random(in: -62_135_596_800_000_000...253_402_300_799_000_000, using: &generator)) / 1_000_000) }
        let dates = values.map(Date.init(timeIntervalSince1970:))
        // Ours to the server: a timestamptz[] parameter, each read back as epoch microseconds.
        let rows = try await pool.query("""
            SELECT ord, (extract(epoch FROM t) * 1000000)::int8 AS micros, t AS echoed
            FROM unnest(\(dates)::timestamptz[]) WITH ORDINALITY AS u(t, ord) ORDER BY ord
            """)
        #expect(rows.count == dates.count)
        for (row, seconds) in zip(rows, values) {
            let micros = try row.decode("micros", as: Int64.self)
            // Within a microsecond or the Double's own resolution (about 30 µs in the year 9999).
            let tolerance = max(0.000_001, 2 * seconds.ulp)
            #expect(abs(Double(micros) / 1_000_000 - seconds) <= tolerance, "sent \(seconds)")
            // The server's text back to a Date.
            let echoed = try row.decode("echoed", as: Date.self)
            #expect(abs(echoed.timeIntervalSince1970 - Double(micros) / 1_000_000) <= tolerance, "read \(seconds)")
        }
    }

    @Test("message times read and write as Foundation's ISO 8601 style does, to the millisecond")
    func againstFoundation() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        // Whole milliseconds from 1900 to 2100 (a Double holds them to well under a microsecond
        // there): the calendar part is checked against Foundation on the whole second, the
        // milliseconds against the integer they came from (Foundation truncates the Double's
        // binary value, so an exact .827 can come out .826).
        let century = -2_208_988_800...4_102_444_800.0
        var milliseconds = Self.seconds.filter { century.contains($0) }.map { Int64(($0 * 1000).rounded(.down)) }
        for _ in 0..<2_000 { milliseconds.append(Int64.random(in: -2_208_988_800_000...4_102_444_800_000, using: &generator)) }
        for value in milliseconds {
            let (second, millisecond) = (value >= 0 ? value / 1000 : (value - 999) / 1000, (value % 1000 + 1000) % 1000)
            let date = Date(timeIntervalSince1970: Double(value) / 1000)
            let ours = TimestampText.format(date, separator: "T", fraction: .milliseconds, zone: "Z")
            let wholeSecond = Date(timeIntervalSince1970: Double(second)).formatted(style)
            #expect(ours == wholeSecond.dropLast(4) + String(format: "%03dZ", millisecond), "\(value) ms")
            let parsed = try #require(TimestampText.parse(Substring(ours), allowsSpace: false, requiresZone: true))
            #expect(abs(parsed.timeIntervalSince1970 - Double(value) / 1000) < 0.000_001, "\(ours)")
        }
        // From 1583 (before it Foundation counts in the Julian calendar, Postgres and we do not)
        // to 9999: the same time as Foundation's to within the millisecond both truncate to (we
        // round to the microsecond first, so .9999996 is the next second for us, .999 for it),
        // plus the Double's resolution (30 µs by the year 9999).
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -12_212_553_600...253_402_300_799, using: &generator))
            let ours = try #require(TimestampText.parse(
                Substring(TimestampText.format(date, separator: "T", fraction: .milliseconds, zone: "Z")), allowsSpace: false, requiresZone: true))
            #expect(abs(ours.timeIntervalSince1970 - (try style.parse(date.formatted(style))).timeIntervalSince1970) <= 0.001 + 0.000_1, "\(date)")
        }
        for text in ["2026-12-05T04:22:22.5+01:00", "2026-12-05T04:22:22-03:30", "2026-12-05T04:22:22+05:30",
                     "2026-12-05T04:22:22.123456789Z", "2024-02-29T23:59:59Z"] {
            let parsed = try #require(TimestampText.parse(Substring(text), allowsSpace: false, requiresZone: true))
            #expect(abs(parsed.timeIntervalSince1970 - (try style.parse(text)).timeIntervalSince1970) < 0.000_001, "\(text)")
        }
        // Digits past the nanosecond are read and dropped (Foundation refuses them).
        let long = try #require(TimestampText.parse("2026-12-05T04:22:22.1234567891234Z", allowsSpace: false, requiresZone: true))
        #expect(long == TimestampText.parse("2026-12-05T04:22:22.123456789Z", allowsSpace: false, requiresZone: true))
        // A crafted header's long year must be refused, not overflow (it crashed the consumer).
        for refused in ["2026-12-05 04:22:22Z", "2026-12-05T04:22:22", "2026-13-05T04:22:22Z", "2026-12-05T24:00:00Z", "2026-12-05T04:22:22.Z",
                        "2026-12-05T04:22:22Zjunk", "2026-1-05T04:22:22Z", "", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                        "0000-01-01T00:00:00Z", "1234567-01-01T00:00:00Z", "300000000000-01-01T00:00:00Z",
                        "99999999999999999999999-01-01T00:00:00Z"] {
            #expect(TimestampText.parse(Substring(refused), allowsSpace: false, requiresZone: true) == nil, "\(refused)")
        }
    }

    @Test("random UUIDs are version 4 of the RFC 4122 variant, and Postgres reads them")
    func randomUUIDs() async throws {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.uuid.6 >> 4 == 4, "\(id)")
            #expect(id.uuid.8 >> 6 == 0b10, "\(id)")
        }
        // Every one of the 122 random bits takes both values; the six fixed ones (byte 6's high
        // nibble 0100, byte 8's top bits 10) are set by hand below.
        var ones = [UInt8](repeating: 0, count: 16)
        var zeros = [UInt8](repeating: 0, count: 16)
        for id in ids {
            withUnsafeBytes(of: id.uuid) { bytes in
                for (index, byte) in bytes.enumerated() {
                    ones[index] |= byte
                    zeros[index] |= ~byte
                }
            }
        }
        ones[6] |= 0b1011_0000
        zeros[6] |= 0b0100_0000
        ones[8] |= 0b0100_0000
        zeros[8] |= 0b1000_0000
        #expect(ones == [UInt8](repeating: 0xff, count: 16))
        #expect(zeros == [UInt8](repeating: 0xff, count: 16))
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { pool.close() }
        let row = try await pool.query("SELECT \(ids[0])::uuid::text AS id").single()
        #expect(try row.decode("id", as: String.self) == ids[0].uuidString.lowercased())
    }

    @Test("UUIDs read and write as Foundation and Postgres do")
    func uuids() async throws {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercasedText == id.uuidString.lowercased())
            #expect(UUID(text: Substring(id.uuidString)) == id)
            #expect(UUID(text: Substring(id.lowercasedText)) == id)
        }
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        for refused in ["a0eebc999c0b-4ef8-bb6d-6bb9bd380a11-", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
                        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ", ""] {
            #expect(UUID(text: Substring(refused)) == nil, "\(refused)")
            #expect(UUID(uuidString: refused) == nil, "Foundation refuses \(refused) too")
        }
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { pool.close() }
        let row = try await pool.query("SELECT \(canonical)::uuid AS id, upper(\(canonical)) AS upper").single()
        #expect(try row.decode("id", as: UUID.self).lowercasedText == canonical)
        #expect(try row.decode("upper", as: UUID.self) == UUID(uuidString: canonical))
    }
}
