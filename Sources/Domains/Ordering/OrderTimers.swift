import Contracts
import Foundation
import Messaging

/// An order's timers: the payment reminders, then the expiry, as a chain of delayed RabbitMQ
/// messages. Only the first is written with the order; each one, when it fires, writes the next
/// in its own inbox transaction, so the chain is exactly-once like everything else and an order
/// has one delayed message waiting at a time (a paid order skips straight to its expiry). Every
/// delay is measured from the order's creation, so the chain does not drift.
struct OrderTimers {
    /// The timer to write: a reminder (number) or the expiry, due after `delay`.
    struct Timer {
        var payload: any MessagePayload
        var routingKey: String
        var delay: Duration
        var label: String

        func outboxMessage(orderID: UUID, cause: OrderStore.Cause) throws -> OutboxMessage {
            try OrderMessages.message(
                payload, orderID: orderID, to: .amqp(routingKey, delay: delay),
                aggregate: "\(label):\(orderID.uuidString.lowercased())", cause: cause)
        }
    }

    /// The first timer of a new order.
    static func first(of orderID: UUID, createdAt: Date, timings: OrderTimings, now: Date) -> Timer {
        next(after: 0, of: orderID, createdAt: createdAt, timings: timings, skipReminders: false, now: now)
    }

    /// The timer after reminder `number` (0: none yet): reminder `number + 1`, or the expiry when
    /// the reminders are done or no longer wanted.
    static func next(after number: Int, of orderID: UUID, createdAt: Date, timings: OrderTimings, skipReminders: Bool, now: Date) -> Timer {
        func delay(_ offset: Duration) -> Duration {
            let due = createdAt.addingTimeInterval(Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18)
            return .milliseconds(max(0, Int64((due.timeIntervalSince(now) * 1000).rounded(.up))))
        }
        if !skipReminders, number < timings.reminders.count {
            return Timer(
                payload: PaymentReminderDue(orderID: orderID, number: number + 1), routingKey: Destinations.paymentReminderKey,
                delay: delay(timings.reminders[number]), label: "reminder-\(number + 1)")
        }
        return Timer(payload: OrderExpiryDue(orderID: orderID), routingKey: Destinations.expiryKey, delay: delay(timings.expiry), label: "expiry")
    }
}
