public import Foundation

extension UUID {
    /// A random (version 4) UUID from the system's CSPRNG: two `getrandom` calls (one per 64 bits,
    /// as `SystemRandomNumberGenerator` draws them). Foundation's `UUID()` opens, reads and
    /// closes `/dev/urandom` each time (about 3 µs, seen in perf of the API and the workers,
    /// which make several per order).
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        bytes.0 = bytes.0.bigEndian
        bytes.1 = bytes.1.bigEndian
        var id = withUnsafeBytes(of: bytes) { $0.load(as: uuid_t.self) }
        id.6 = id.6 & 0x0f | 0x40  // version 4
        id.8 = id.8 & 0x3f | 0x80  // RFC 4122 variant
        return UUID(uuid: id)
    }

    /// Parses the canonical form (`8-4-4-4-12` hex digits, either case). By hand: Foundation's
    /// `UUID(uuidString:)` goes through `sscanf`, measurable per row and per message.
    public init?(text: Substring) {
        let parsed: (UInt64, UInt64)? = text.utf8.withContiguousStorageIfAvailable(Self.parse) ?? Array(text.utf8).withUnsafeBufferPointer(Self.parse)
        guard let (high, low) = parsed else { return nil }
        self = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { UUID(uuid: $0.load(as: uuid_t.self)) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if nibbles < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            nibbles += 1
        }
        return (high, low)
    }

    /// Lower-case hex with dashes, as Postgres and our message headers write it; formatted by
    /// hand (Foundation's `uuidString` goes through `sprintf`, and then needs lower-casing).
    public var lowercasedText: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = Self.hexDigits[Int(byte >> 4)]
                    text[position + 1] = Self.hexDigits[Int(byte & 0x0f)]
                    position += 2
                }
                return position
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
