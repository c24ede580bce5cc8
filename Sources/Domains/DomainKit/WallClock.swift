public import Foundation
import Synchronization

/// The time a domain rule reads. Injected, so that a rule depending on time (an expiry, a
/// cooldown, a stale lock) is proven by a unit test that moves the clock, not by waiting.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's clock, to the millisecond (what Postgres's `timestamptz` and JSON carry, so a
/// value read back equals the one written).
public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
}

/// A clock that moves only when told: for tests.
public final class ManualClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.adding(duration) }
    }
}

extension Date {
    /// `self` plus a `Duration`, to the attosecond Foundation can hold.
    public func adding(_ duration: Duration) -> Date {
        addingTimeInterval(duration.timeInterval)
    }
}

extension Duration {
    /// In seconds, as Foundation counts them.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
