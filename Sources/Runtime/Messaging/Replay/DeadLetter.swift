import Foundation

/// One dead letter, as `emporium replay` shows it.
public struct DeadLetter: Sendable {
    /// `topic[partition]@offset` or `queue#n`.
    public var position: String
    public var messageID: String?
    public var type: String
    public var key: String?
    public var errorType: String
    public var errorMessage: String
    public var attempts: String
    /// Where it came from and goes back to on replay.
    public var origin: String
    public var consumer: String
    public var firstFailureAt: String
    public var lastFailureAt: String
    public var headers: [(name: String, value: String)]
    public var body: String

    /// A multi-line, human-readable form.
    public var rendered: String {
        var lines = [
            "position:      \(position)",
            "message id:    \(messageID ?? "-")",
            "type:          \(type)",
            "key:           \(key ?? "-")",
            "error:         \(errorType): \(errorMessage)",
            "attempts:      \(attempts)",
            "origin:        \(origin)",
            "consumer:      \(consumer)",
            "first failure: \(firstFailureAt)",
            "last failure:  \(lastFailureAt)",
            "headers:",
        ]
        lines += headers.map { "  \($0.name): \($0.value)" }
        lines.append("body:")
        lines.append(body)
        return lines.joined(separator: "\n")
    }

    /// Counts by type and by error type.
    public static func summary(of letters: [DeadLetter]) -> String {
        var lines = ["\(letters.count) dead letters"]
        for (title, keyPath) in [("by type", \DeadLetter.type), ("by error", \DeadLetter.errorType)] {
            let counts = Dictionary(grouping: letters, by: { $0[keyPath: keyPath] }).mapValues(\.count)
            lines.append("\(title):")
            for (name, count) in counts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                lines.append("  \(String(count).padding(toLength: 8, withPad: " ", startingAt: 0)) \(name)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Which dead letters to replay. Each set field must match: `type` and `key` exactly, `error`
/// as a substring of the error type or message.
public struct DeadLetterFilter: Sendable {
    public var type: String?
    public var error: String?
    public var key: String?

    public init(type: String? = nil, error: String? = nil, key: String? = nil) {
        self.type = type
        self.error = error
        self.key = key
    }

    public func matches(_ letter: DeadLetter) -> Bool {
        if let type, letter.type != type { return false }
        if let key, letter.key != key { return false }
        if let error, !letter.errorType.contains(error) && !letter.errorMessage.contains(error) { return false }
        return true
    }
}

/// How to replay.
public struct ReplayOptions: Sendable {
    public var filter = DeadLetterFilter()
    /// Replay at most this many.
    public var limit: Int?
    /// Messages per second at most.
    public var rate: Double?
    /// Show what would be replayed; change nothing.
    public var dryRun = false

    public init(filter: DeadLetterFilter = DeadLetterFilter(), limit: Int? = nil, rate: Double? = nil, dryRun: Bool = false) {
        self.filter = filter
        self.limit = limit
        self.rate = rate
        self.dryRun = dryRun
    }
}

/// Counts of a replay, reported as it goes and at the end.
public struct ReplayProgress: Sendable, CustomStringConvertible {
    public var scanned = 0
    public var total = 0
    public var replayed = 0
    public var skipped = 0
    public var dryRun = false

    public var description: String {
        "\(dryRun ? "would replay" : "replayed") \(replayed), skipped \(skipped), scanned \(scanned)/\(total)"
    }
}

/// Spaces out replayed messages to a rate.
struct ReplayPacer {
    let interval: Duration?
    var next = ContinuousClock.now

    init(rate: Double?) {
        interval = rate.flatMap { $0 > 0 ? Duration.nanoseconds(Int64(1e9 / $0)) : nil }
    }

    mutating func wait() async throws {
        guard let interval else { return }
        let now = ContinuousClock.now
        if next > now { try await Task.sleep(until: next, clock: .continuous) }
        next = max(next, now) + interval
    }
}
