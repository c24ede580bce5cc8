/// A W3C Trace Context `traceparent` (`00-<trace id>-<parent span id>-<flags>`): one trace id
/// from the HTTP request through every message it causes, a new span id at each hop.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// 32 lower-case hex digits, never all zero.
    public let traceID: String
    /// 16 lower-case hex digits, never all zero: the span of the hop that sent this.
    public let spanID: String
    /// `01` when the trace is sampled.
    public let flags: String

    /// Parses a header value; `nil` for anything the specification says to ignore. Every message
    /// and request passes through here, so it checks the UTF-8 bytes, splitting nothing. A
    /// version after 00 may carry more fields after a dash.
    public init?(_ text: String) {
        var text = text
        // A valid value begins and ends with a hex digit: only then can trimming be skipped.
        if let first = text.utf8.first, let last = text.utf8.last, !Self.isHexDigit(first) || !Self.isHexDigit(last) {
            text = text.trimmingCharacters(in: .whitespaces)
        }
        guard let fields = Self.fieldsIfValid(Array(text.utf8)) else { return nil }
        (traceID, spanID, flags) = fields
    }

    /// `version-traceid-spanid-flags` (2, 32, 16 and 2 lower-case hex digits), where a version
    /// after 00 may carry more fields after another dash.
    private static func fieldsIfValid(_ bytes: [UInt8]) -> (String, String, String)? {
        let dash = UInt8(ascii: "-")
        guard bytes.count >= 55, bytes[2] == dash, bytes[35] == dash, bytes[52] == dash,
              isHex(bytes[0..<2]), isHex(bytes[3..<35]), isHex(bytes[36..<52]), isHex(bytes[53..<55]),
              !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")),
              bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }),
              bytes[36..<52].contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        let version00 = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        guard bytes.count == 55 || (!version00 && bytes[55] == dash) else { return nil }
        return (String(decoding: bytes[3..<35], as: UTF8.self), String(decoding: bytes[36..<52], as: UTF8.self),
                String(decoding: bytes[53..<55], as: UTF8.self))
    }

    private init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// The start of a new trace (sampled).
    public static func root() -> TraceParent {
        TraceParent(traceID: randomHex(words: 2), spanID: randomHex(words: 1), flags: "01")
    }

    /// The next hop's traceparent: the same trace, a new span.
    public func child() -> TraceParent {
        TraceParent(traceID: traceID, spanID: Self.randomHex(words: 1), flags: flags)
    }

    /// The child of `header` when it is a valid traceparent, else a new root.
    public static func continuing(_ header: String?) -> TraceParent {
        header.flatMap(TraceParent.init)?.child() ?? root()
    }

    public var description: String { "00-\(traceID)-\(spanID)-\(flags)" }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy(isHexDigit)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `words` × 16 random lower-case hex digits, never all zero: one random 64-bit word (one
    /// `getrandom`) per 16 digits.
    private static func randomHex(words: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            var digits: [UInt8] = []
            digits.reserveCapacity(words * 16)
            var anyBitSet = false
            for _ in 0..<words {
                let word: UInt64 = generator.next()
                anyBitSet = anyBitSet || word != 0
                for shift in stride(from: 60, through: 0, by: -4) {
                    digits.append(hexDigits[Int(truncatingIfNeeded: word >> UInt64(shift)) & 0xf])
                }
            }
            if anyBitSet { return String(decoding: digits, as: UTF8.self) }
        }
    }
}
