import Contracts
import Foundation
import Messaging
import Postgres

/// The messages an order's transitions cause, appended to the outbox in the transition's
/// transaction, with the cause as their causation and its correlation id.
enum OrderMessages {
    /// An outbox message keyed by the order, caused by `cause` and carrying its correlation id.
    static func message<Payload: MessagePayload>(
        _ payload: Payload, orderID: UUID, to destination: MessageDestination, aggregate: String? = nil, cause: OrderStore.Cause
    ) throws -> OutboxMessage {
        let envelope = try MessageEnvelope(
            payload, key: orderID.uuidString.lowercased(), correlationID: cause.correlationID, causationID: cause.id,
            traceParent: TracePropagation.outgoing(parent: cause.traceParent))
        return OutboxMessage(envelope, to: destination, aggregate: aggregate ?? "order:\(envelope.key)")
    }

    static func append<Payload: MessagePayload>(
        _ payload: Payload, orderID: UUID, to destination: MessageDestination, aggregate: String? = nil,
        cause: OrderStore.Cause, on connection: PostgresConnection
    ) async throws {
        try await Outbox.append(
            try message(payload, orderID: orderID, to: destination, aggregate: aggregate, cause: cause), on: connection)
    }

    /// A `mail.send` command. Mails need no order among themselves: each is its own aggregate,
    /// so the relay never holds one back behind another.
    static func mail(
        _ template: MailSend.Template, to customerID: String, orderID: UUID, data: [String: String] = [:],
        cause: OrderStore.Cause, on connection: PostgresConnection
    ) async throws {
        let command = MailSend(template: template, customerID: customerID, orderID: orderID, data: data)
        try await append(
            command, orderID: orderID, to: Destinations.mail, aggregate: "mail:\(UUID().uuidString.lowercased())",
            cause: cause, on: connection)
    }

    /// PENDING -> CANCELLED with its effects: the transition, `order.cancelled` (the product
    /// worker releases what it reserved) and the customer's mail.
    static func cancel(
        _ orderID: UUID, _ order: OrderStore.Locked, reason: String, mail template: MailSend.Template,
        data: [String: String] = [:], cause: OrderStore.Cause, on connection: PostgresConnection
    ) async throws {
        try await OrderStore.transition(orderID, from: order.status, to: .cancelled, reason: reason, cause: cause, on: connection)
        // A checkout still waiting on this order gives its cart back.
        try await CartStore.orderEnded(orderID, on: connection)
        try await append(OrderCancelled(orderID: orderID, reason: reason), orderID: orderID, to: Destinations.orders, cause: cause, on: connection)
        var fields = data
        fields["reason"] = reason
        try await mail(template, to: order.customerID, orderID: orderID, data: fields, cause: cause, on: connection)
    }

    /// PAID -> COMPLETED with its effects: the transition, `order.completed` (the product worker
    /// sells the reserved units) and the customer's mail.
    static func complete(_ orderID: UUID, _ order: OrderStore.Locked, cause: OrderStore.Cause, on connection: PostgresConnection) async throws {
        try await OrderStore.transition(orderID, from: order.status, to: .completed, cause: cause, on: connection)
        try await append(OrderCompleted(orderID: orderID), orderID: orderID, to: Destinations.orders, cause: cause, on: connection)
        try await mail(.orderCompleted, to: order.customerID, orderID: orderID, cause: cause, on: connection)
    }
}
