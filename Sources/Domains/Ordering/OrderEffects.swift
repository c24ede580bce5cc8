import ConnectionPool
import Contracts
import Foundation
import Messaging
import OrderingCore
import Postgres

/// Applies an order transition's effects (``OrderRules``) on the connection that holds the order's
/// row lock, in its transaction: rows written, and the messages the effects cause appended to the
/// outbox in one statement, with the cause as their causation and its correlation id.
enum OrderEffects {
    /// `placed` is the order a ``OrderRules/place`` just made (its `order.created` carries the lines).
    static func apply(
        _ effects: [OrderEffect], orderID: UUID, customerID: String, placed: Order? = nil, cause: OrderStore.Cause, now: Date,
        on connection: PostgresConnection
    ) async throws {
        var messages: [OutboxMessage] = []
        for effect in effects {
            switch effect {
            case .statusChanged(let from, let to, let reason):
                try await OrderStore.transition(orderID, from: from, to: to, reason: reason, cause: cause, on: connection)
            case .stockDecided(let decision):
                try await connection.executeDeferred("""
                    UPDATE ordering.orders SET stock = \(decision.rawValue), stock_decided_at = now(), updated_at = now() WHERE id = \(orderID)
                    """)
            case .reminderRecorded(let number):
                try await connection.executeDeferred("""
                    UPDATE ordering.orders SET reminders_sent = \(number), updated_at = now() WHERE id = \(orderID)
                    """)
            case .announce(let announcement):
                messages.append(try message(payload(announcement, orderID: orderID, placed: placed), orderID: orderID, to: Destinations.orders, cause: cause))
            case .mail(let template, let data):
                let command = MailSend(template: MailSend.Template(rawValue: template.rawValue), customerID: customerID, orderID: orderID, data: data)
                // Mails need no order among themselves: each is its own aggregate, so the relay
                // never holds one back behind another.
                messages.append(try message(
                    command, orderID: orderID, to: Destinations.mail(command), aggregate: "mail:\(UUID.random().lowercasedText)", cause: cause))
            case .schedule(let timer):
                messages.append(try message(
                    timerPayload(timer, orderID: orderID), orderID: orderID, to: .amqp(routingKey(timer), delay: timer.delay),
                    aggregate: "\(timer.label):\(orderID.lowercasedText)", cause: cause))
            case .checkoutCart(let outcome):
                try await CartStore.checkoutDecided(orderID, outcome, now: now, on: connection)
            }
        }
        if !messages.isEmpty { try await Outbox.append(messages, on: connection) }
    }

    /// An outbox message keyed by the order, caused by `cause` and carrying its correlation id.
    static func message<Payload: MessagePayload>(
        _ payload: Payload, orderID: UUID, to destination: MessageDestination, aggregate: String? = nil, cause: OrderStore.Cause
    ) throws -> OutboxMessage {
        let envelope = try MessageEnvelope(
            payload, key: orderID.lowercasedText, correlationID: cause.correlationID, causationID: cause.id,
            traceParent: TracePropagation.outgoing(parent: cause.traceParent))
        return OutboxMessage(envelope, to: destination, aggregate: aggregate ?? "order:\(envelope.key)")
    }

    private static func payload(_ announcement: OrderAnnouncement, orderID: UUID, placed: Order?) throws -> any MessagePayload {
        switch announcement {
        case .created:
            guard let order = placed else { throw MessagingError(.poisonMessage, "order.created without its order") }
            return OrderCreated(
                orderID: order.id, customerID: order.customerId, lines: order.lines.map { StockLine(sku: $0.sku, quantity: $0.quantity) },
                totalMinor: order.totalMinor, currency: order.currency)
        case .paid: return OrderPaid(orderID: orderID)
        case .cancelled(let reason): return OrderCancelled(orderID: orderID, reason: reason.rawValue)
        case .completed: return OrderCompleted(orderID: orderID)
        }
    }

    private static func timerPayload(_ timer: OrderTimer, orderID: UUID) -> any MessagePayload {
        switch timer.kind {
        case .reminder(let number): PaymentReminderDue(orderID: orderID, number: number)
        case .expiry: OrderExpiryDue(orderID: orderID)
        }
    }

    private static func routingKey(_ timer: OrderTimer) -> String {
        switch timer.kind {
        case .reminder: Destinations.paymentReminderKey
        case .expiry: Destinations.expiryKey
        }
    }
}
