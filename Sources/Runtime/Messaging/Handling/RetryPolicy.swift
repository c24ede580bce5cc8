import Foundation

/// How often and how long to retry a transient failure: exponential backoff with jitter, up to
/// `maximumAttempts` tries in all; then the message is dead-lettered.
public struct RetryPolicy: Sendable, Hashable {
    /// Tries in all, the first included (1 = no retry).
    public var maximumAttempts: Int
    public var initialDelay: Duration
    public var maximumDelay: Duration
    public var multiplier: Double
    /// Each delay is scaled by a random factor in `1 - jitter ... 1 + jitter`, so that replicas
    /// failing together do not retry together.
    public var jitter: Double
    /// Explicit waits, one per retry (the mail worker's 10 s, 1 min, 5 min, 30 min); when set, it
    /// replaces the exponential series and fixes `maximumAttempts` at its count plus one.
    public var schedule: [Duration]?

    /// One try, then a retry after each of `schedule`'s waits.
    public init(schedule: [Duration], jitter: Double = 0.1) {
        self.init(maximumAttempts: schedule.count + 1, initialDelay: schedule.first ?? .seconds(1), maximumDelay: schedule.max() ?? .seconds(1), jitter: jitter)
        self.schedule = schedule
    }

    public init(
        maximumAttempts: Int = 5, initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(60),
        multiplier: Double = 2, jitter: Double = 0.2
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
    }

    /// Whether attempt number `attempt` (1-based) failing leaves another try.
    public func allowsRetry(after attempt: Int) -> Bool { attempt < maximumAttempts }

    /// The wait before the try after attempt number `attempt`.
    public func delay(after attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(after: attempt, using: &generator)
    }

    public func delay(after attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base: Double
        if let schedule, !schedule.isEmpty {
            base = schedule[min(max(0, attempt - 1), schedule.count - 1)] / .milliseconds(1)
        } else {
            let exponent = Double(max(0, attempt - 1))
            base = min(initialDelay / .milliseconds(1) * pow(multiplier, exponent), maximumDelay / .milliseconds(1))
        }
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &generator) : 1
        return .milliseconds(Int64((base * factor).rounded()))
    }
}
