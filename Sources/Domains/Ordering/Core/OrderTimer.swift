public import Foundation
import DomainKit

/// An order's timers: the payment reminders, then the expiry. An order has one timer waiting at a
/// time: each one, when it fires, schedules the next (a paid order skips straight to its expiry).
/// Every due time is measured from the order's creation, so the chain does not drift however late
/// a timer fires.
public struct OrderTimer: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Payment reminder `number` (from 1).
        case reminder(Int)
        case expiry
    }

    public var kind: Kind
    public var due: Date
    /// From `now` (when it was scheduled) to `due`, to the millisecond, never negative.
    public var delay: Duration

    public init(kind: Kind, due: Date, delay: Duration) {
        self.kind = kind
        self.due = due
        self.delay = delay
    }

    /// `reminder-2`, `expiry`: names the timer's message stream.
    public var label: String {
        switch kind {
        case .reminder(let number): "reminder-\(number)"
        case .expiry: "expiry"
        }
    }

    /// The first timer of an order created at `createdAt`.
    public static func first(createdAt: Date, timings: OrderTimings, now: Date) -> OrderTimer {
        next(after: 0, createdAt: createdAt, timings: timings, skipReminders: false, now: now)
    }

    /// What timers wait when each fires on time: the first one from the order's creation, each
    /// next reminder from the one before, and the expiry from the last reminder or, for a paid
    /// order skipping to it, from any reminder. Delay levels of these lengths make each timer a
    /// single delayed publish (see `AMQPDelays`).
    public static func waits(timings: OrderTimings) -> [Duration] {
        let dues = timings.reminders.sorted()
        var waits = [dues.first ?? timings.expiry]
        for (earlier, later) in zip(dues, dues.dropFirst()) { waits.append(later - earlier) }
        waits += dues.map { timings.expiry - $0 }
        return Array(Set(waits.filter { $0 > .zero })).sorted()
    }

    /// The timer after reminder `number` (0: none yet): reminder `number + 1`, or the expiry when
    /// the reminders are done or no longer wanted.
    public static func next(after number: Int, createdAt: Date, timings: OrderTimings, skipReminders: Bool, now: Date) -> OrderTimer {
        func timer(_ kind: Kind, _ offset: Duration) -> OrderTimer {
            let due = createdAt.adding(offset)
            return OrderTimer(kind: kind, due: due, delay: .milliseconds(max(0, Int64((due.timeIntervalSince(now) * 1000).rounded(.up)))))
        }
        if !skipReminders, number < timings.reminders.count {
            return timer(.reminder(number + 1), timings.reminders[number])
        }
        return timer(.expiry, timings.expiry)
    }
}
