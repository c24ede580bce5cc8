@testable import AMQP
import CRabbitMQ
import Testing

/// A message's headers as `AMQPSession` reads them off the wire, from tables built here by hand:
/// the shapes of the broker's death records that RabbitMQ 3.10 (CI's) never sends, too.
@Suite("AMQP headers")
struct AMQPHeadersTests {
    @Test("text, integers and booleans become fields; tables and arrays are left out")
    func fields() {
        let headers = Table.read([
            .text("x-message-type", "order.created"), .integer("x-attempts", 3), .boolean("x-redacted", true),
            .table("nested", [.text("a", "b")]),
        ])
        #expect(headers.fields == ["x-message-type": .string("order.created"), "x-attempts": .integer(3), "x-redacted": .boolean(true)])
        #expect(headers.lastDeath == nil)
    }

    @Test("the last death is x-death's first entry, the most recent, ahead of any x-last-death-* strings")
    func deathFromArray() {
        let headers = Table.read([
            .text("x-last-death-queue", "stale"), .text("x-last-death-reason", "rejected"),
            .deaths([
                [.text("reason", "delivery_limit"), .text("queue", "shop.mail.codes"), .integer("count", 1)],
                [.text("queue", "shop.delay.1s"), .text("reason", "expired"), .integer("count", 1)],
            ]),
        ])
        #expect(headers.lastDeath == AMQPDeath(queue: "shop.mail.codes", reason: "delivery_limit"))
        #expect(headers.fields["x-last-death-queue"] == .string("stale"))
        // A key twice (RabbitMQ sends each once): the last readable one counts, as for every field.
        let twice = Table.read([
            .deaths([[.text("queue", "first"), .text("reason", "expired")]]),
            .deaths([[.text("queue", "second"), .text("reason", "rejected")]]),
            .deaths([[.text("queue", "unreadable")]]),
        ])
        #expect(twice.lastDeath == AMQPDeath(queue: "second", reason: "rejected"))
    }

    @Test("without x-death, x-last-death-queue and -reason (RabbitMQ 3.13 and later) say where it died")
    func deathFromStrings() {
        let headers = Table.read([.text("x-last-death-reason", "delivery_limit"), .text("x-last-death-queue", "shop.mail.codes")])
        #expect(headers.lastDeath == AMQPDeath(queue: "shop.mail.codes", reason: "delivery_limit"))
        #expect(Table.read([.text("x-last-death-queue", "shop.mail.codes")]).lastDeath == nil)
    }

    @Test("an x-death whose first entry lacks its queue or reason, or is no table, names no death")
    func malformedDeaths() {
        #expect(Table.read([.deaths([[.text("queue", "q")]])]).lastDeath == nil)
        #expect(Table.read([.deaths([])]).lastDeath == nil)
        #expect(Table.read([.deathValues([.text("queue", "q"), .text("reason", "expired")])]).lastDeath == nil)
        #expect(Table.read([.text("x-death", "not an array")]).lastDeath == nil)
        // A malformed array does not hide the strings.
        let headers = Table.read([.deaths([[.integer("queue", 1), .text("reason", "expired")]]),
                                  .text("x-last-death-queue", "q"), .text("x-last-death-reason", "expired")])
        #expect(headers.lastDeath == AMQPDeath(queue: "q", reason: "expired"))
    }
}

/// Builds an `amqp_table_t` the way librabbitmq decodes one, and reads it.
private enum Table {
    indirect enum Entry {
        case text(String, String)
        case integer(String, Int64)
        case boolean(String, Bool)
        case table(String, [Entry])
        /// `x-death`: an array of tables.
        case deaths([[Entry]])
        /// `x-death`: an array of the entries' values (their names are dropped).
        case deathValues([Entry])
    }

    static func read(_ entries: [Entry]) -> AMQPSession.Headers {
        var storage = Storage()
        defer { storage.release() }
        return AMQPSession.headers(of: storage.table(entries))
    }

    /// Owns what the tables point at until `release()`.
    private struct Storage {
        var blocks: [UnsafeMutableRawPointer] = []

        mutating func bytes(_ text: String) -> amqp_bytes_t {
            let utf8 = Array(text.utf8)
            let block = UnsafeMutableRawPointer.allocate(byteCount: max(utf8.count, 1), alignment: 1)
            block.copyMemory(from: utf8, byteCount: utf8.count)
            blocks.append(block)
            return amqp_bytes_t(len: utf8.count, bytes: block)
        }

        mutating func array<T>(_ items: [T]) -> UnsafeMutablePointer<T> {
            let block = UnsafeMutablePointer<T>.allocate(capacity: max(items.count, 1))
            block.initialize(from: items, count: items.count)
            blocks.append(UnsafeMutableRawPointer(block))
            return block
        }

        mutating func table(_ entries: [Entry]) -> amqp_table_t {
            let built = entries.map { entry($0) }
            return amqp_table_t(num_entries: Int32(built.count), entries: array(built))
        }

        mutating func entry(_ entry: Entry) -> amqp_table_entry_t {
            var value = amqp_field_value_t()
            let key: String
            switch entry {
            case .text(let name, let text):
                key = name
                value.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                value.value.bytes = bytes(text)
            case .integer(let name, let number):
                key = name
                value.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                value.value.i64 = number
            case .boolean(let name, let flag):
                key = name
                value.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
                value.value.boolean = flag ? 1 : 0
            case .table(let name, let entries):
                key = name
                value.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
                value.value.table = table(entries)
            case .deaths(let deaths):
                key = "x-death"
                let items = deaths.map { death -> amqp_field_value_t in
                    var item = amqp_field_value_t()
                    item.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
                    item.value.table = table(death)
                    return item
                }
                value.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
                value.value.array = amqp_array_t(num_entries: Int32(items.count), entries: array(items))
            case .deathValues(let entries):
                key = "x-death"
                let items = entries.map { self.entry($0).value }
                value.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
                value.value.array = amqp_array_t(num_entries: Int32(items.count), entries: array(items))
            }
            return amqp_table_entry_t(key: bytes(key), value: value)
        }

        func release() {
            for block in blocks { block.deallocate() }
        }
    }
}
