/// A W3C Trace Context `traceparent` (`00-<trace id>-<parent span id>-<flags>`): one trace id
/// from the HTTP request through every message it causes, a new span id at each hop.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// 32 lower-case hex digits, never all zero.
    public let traceID: String
    /// 16 lower-case hex digits, never all zero: the span of the hop that sent this.
    public let spanID: String
    /// `01` when the trace is sampled.
    public let flags: String

    /// Parses a header value; `nil` for anything the specification says to ignore.
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", Self.isHex(parts[0]),
              parts[1].count == 32, Self.isHex(parts[1]), parts[1] != String(repeating: "0", count: 32),
              parts[2].count == 16, Self.isHex(parts[2]), parts[2] != String(repeating: "0", count: 16),
              parts[3].count == 2, Self.isHex(parts[3]), parts[0] != "00" || parts.count == 4
        else { return nil }
        traceID = parts[1]
        spanID = parts[2]
        flags = parts[3]
    }

    private init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// The start of a new trace (sampled).
    public static func root() -> TraceParent {
        TraceParent(traceID: randomHex(16), spanID: randomHex(8), flags: "01")
    }

    /// The next hop's traceparent: the same trace, a new span.
    public func child() -> TraceParent {
        TraceParent(traceID: traceID, spanID: Self.randomHex(8), flags: flags)
    }

    /// The child of `header` when it is a valid traceparent, else a new root.
    public static func continuing(_ header: String?) -> TraceParent {
        header.flatMap(TraceParent.init)?.child() ?? root()
    }

    public var description: String { "00-\(traceID)-\(spanID)-\(flags)" }

    private static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    private static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        while true {
            text = (0..<bytes).map { _ in
                let byte = UInt8.random(in: 0...255, using: &generator)
                return String(byte >> 4, radix: 16) + String(byte & 0x0f, radix: 16)
            }.joined()
            if text.contains(where: { $0 != "0" }) { return text }
        }
    }
}
