import Foundation
import Postgres
import Testing

@Suite("Row decoding", .timeLimit(.minutes(1)))
struct DecodingTests {
    let pool: PostgresPool

    init() throws {
        pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
    }

    @Test("every supported type decodes from server literals, NULL included")
    func serverLiterals() async throws {
        let row = try await pool.query("""
            SELECT 'héllo wörld — 日本語 🚀'::text AS text,
                   (-32768)::int2 AS small, 2147483647::int4 AS int4, 9007199254740993::int8 AS big,
                   true AS yes, false AS no, 1.5::float8 AS float,
                   12345678901234567890.123456789::numeric AS numeric, 19.99::numeric(12,2) AS price,
                   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id,
                   '2026-11-21 23:18:33.123456+00'::timestamptz AS at,
                   '{"name": "Kaffee ☕", "n": 1}'::jsonb AS doc,
                   '\\xdeadbeef00'::bytea AS bytes,
                   ARRAY[1, 2, NULL]::int8[] AS numbers,
                   ARRAY['a b', 'c"d', 'e\\f', 'NULL', NULL, 'ü']::text[] AS words,
                   ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[] AS ids,
                   '{}'::int4[] AS empty,
                   NULL::text AS missing, NULL::int8 AS missing_number
            """).single()
        #expect(try row.decode("text", as: String.self) == "héllo wörld — 日本語 🚀")
        #expect(try row.decode("small", as: Int16.self) == -32768)
        #expect(try row.decode("int4", as: Int32.self) == 2_147_483_647)
        #expect(try row.decode("big", as: Int.self) == 9_007_199_254_740_993)
        #expect(try row.decode("yes", as: Bool.self) == true)
        #expect(try row.decode("no", as: Bool.self) == false)
        #expect(try row.decode("float", as: Double.self) == 1.5)
        #expect(try row.decode("numeric", as: PostgresNumeric.self).text == "12345678901234567890.123456789")
        #expect(try row.decode("numeric", as: Decimal.self) == Decimal(string: "12345678901234567890.123456789"))
        #expect(try row.decode("price", as: PostgresNumeric.self).minorUnits(scale: 2) == 1999)
        #expect(try row.decode("id", as: UUID.self) == UUID(uuidString: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
        let at = try row.decode("at", as: Date.self)
        #expect(abs(at.timeIntervalSince1970 - 1_795_303_113.123456) < 0.000_001)
        struct Document: Decodable, Equatable { let name: String; let n: Int }
        #expect(try row.decode("doc", as: PostgresJSONB.self).decode(Document.self) == Document(name: "Kaffee ☕", n: 1))
        #expect(try row.decode("bytes", as: Data.self) == Data([0xde, 0xad, 0xbe, 0xef, 0x00]))
        #expect(try row.decode("numbers", as: [Int?].self) == [1, 2, nil])
        #expect(try row.decode("words", as: [String?].self) == ["a b", "c\"d", "e\\f", "NULL", nil, "ü"])
        #expect(try row.decode("ids", as: [UUID].self) == [UUID(uuidString: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")!])
        #expect(try row.decode("empty", as: [Int32].self) == [])
        #expect(try row.decode("missing", as: String?.self) == nil)
        #expect(try row.decode("missing_number", as: Int?.self) == nil)
        #expect(row.isNull("missing"))
    }

    @Test("every supported type round-trips as a parameter")
    func parameterRoundTrip() async throws {
        let id = UUID()
        let at = Date(timeIntervalSince1970: 1_795_821_513.654321)
        let bytes = Data((0...255).map { UInt8($0) })
        let json = try PostgresJSONB(["emoji": "🚀", "quote": "\"", "path": "a\\b"])
        let text = "Grüße, 世界 — 'quoted' \"double\" \\ backslash"
        let price = Decimal(string: "1234567.89")!
        let row = try await pool.query("""
            SELECT \("")::text AS blank, \(Int?.none)::int8 AS no_number, \(text)::text AS text, \(Int.max) AS big, \(Int32.min) AS int4, \(Int16(7)) AS small,
                   \(true) AS flag, \(2.5e-10) AS float, \(price) AS price, \(id) AS id, \(at) AS at,
                   \(json) AS doc, \(bytes) AS bytes, \([1, 2, 3]) AS numbers,
                   \(["x,y", "{z}", "\"q\"", "ü", "back\\slash", "🚀", ""]) AS words, \([id]) AS ids, \(String?.none)::text AS missing
            """).single()
        #expect(try row.decode("blank", as: String.self) == "")
        #expect(try row.decode("no_number", as: Int?.self) == nil)
        #expect(try row.decode("text", as: String.self) == text)
        #expect(try row.decode("big", as: Int.self) == Int.max)
        #expect(try row.decode("int4", as: Int32.self) == Int32.min)
        #expect(try row.decode("small", as: Int16.self) == 7)
        #expect(try row.decode("flag", as: Bool.self))
        #expect(try row.decode("float", as: Double.self) == 2.5e-10)
        #expect(try row.decode("price", as: Decimal.self) == price)
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("at", as: Date.self) == at)
        #expect(try row.decode("doc", as: PostgresJSONB.self).decode([String: String].self) == ["emoji": "🚀", "quote": "\"", "path": "a\\b"])
        #expect(try row.decode("bytes", as: Data.self) == bytes)
        #expect(try row.decode("numbers", as: [Int].self) == [1, 2, 3])
        #expect(try row.decode("words", as: [String].self) == ["x,y", "{z}", "\"q\"", "ü", "back\\slash", "🚀", ""])
        #expect(try row.decode("ids", as: [UUID].self) == [id])
        #expect(try row.decode("missing", as: String?.self) == nil)
    }

    @Test("a value that does not fit the requested type is an error naming the column")
    func wrongType() async throws {
        let row = try await pool.query("SELECT 'abc'::text AS label, NULL::int8 AS nothing, 12.5::numeric AS amount").single()
        let notANumber = try #require(throws: PostgresError.self) { try row.decode("label", as: Int.self) }
        #expect(notANumber.code == .decoding)
        #expect(notANumber.column == "label")
        let null = try #require(throws: PostgresError.self) { try row.decode("nothing", as: Int.self) }
        #expect(null.column == "nothing")
        #expect(null.message.contains("NULL"))
        let rounding = try #require(throws: PostgresError.self) {
            try row.decode("amount", as: PostgresNumeric.self).minorUnits(scale: 0)
        }
        #expect(rounding.code == .decoding || rounding.message.contains("decimal places"))
        let unknown = try #require(throws: PostgresError.self) { try row.decode("nope", as: String.self) }
        #expect(unknown.column == "nope")
    }
}
