public import DomainKit
public import Foundation

/// A mail's delivery state (`mailing.mails.state`).
public enum MailState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Received, not sent yet (maybe after failed attempts).
    case queued
    case sent
    /// Given up: dead-lettered next.
    case failed
}

/// The mail worker's rules. Sending is at least once towards the SMTP server and exactly once as
/// far as the worker can tell: a command whose mail is `sent` is not sent again.
public enum MailRules {
    /// Whether a command whose mail is in `state` (`nil`: new) is sent now.
    public static func shouldSend(_ state: MailState?) -> Bool { state != .sent }

    /// Where the mail goes: the command's own address (a verification mail, sent before the
    /// worker's copy of addresses has the account), else the one the worker knows. Without
    /// either, the mail fails at once: addresses arrive long before any order, so waiting will
    /// not bring one (it can be replayed once the address is known).
    public static func recipient(explicit: String?, known: String?, customerID: String) throws(DomainError) -> String {
        if let explicit { return explicit }
        if let known { return known }
        throw DomainError(.notFound, "no address known for customer \(customerID)")
    }

    /// The state a failed attempt leaves: `failed` when the error will not pass (a refusal) or
    /// no attempt is left, else `queued` for a retry.
    public static func afterFailure(retriable: Bool, attemptsLeft: Bool) -> MailState {
        retriable && attemptsLeft ? .queued : .failed
    }

    /// What a template may use: the command's data, the customer, the address when the command
    /// names it, and the order's id and short reference.
    public static func templateValues(data: [String: String], customerID: String, to: String?, orderID: UUID?) -> [String: String] {
        var values = data
        values["customerId"] = customerID
        if let to { values["email"] = to }
        if let orderID {
            values["orderId"] = orderID.uuidString.lowercased()
            values["orderRef"] = String(orderID.uuidString.lowercased().prefix(8))
        }
        return values
    }
}

/// The in-app notification each order event becomes.
public enum NotificationRules {
    public struct OrderNotice: Sendable, Hashable {
        /// The order's status after the event (`PENDING`, `PAID`, `CANCELLED`, `COMPLETED`).
        public var status: String
        public var title: String
        public var body: String
    }

    public enum OrderEvent: Sendable, Hashable {
        case created
        case paid
        case cancelled(reason: String)
        case completed
    }

    public static func notice(for event: OrderEvent) -> OrderNotice {
        switch event {
        case .created: OrderNotice(status: "PENDING", title: "Order placed", body: "We have your order and are reserving its items.")
        case .paid: OrderNotice(status: "PAID", title: "Payment received", body: "Your order is paid and being prepared.")
        case .cancelled(let reason): OrderNotice(status: "CANCELLED", title: "Order cancelled", body: cancellation(reason))
        case .completed: OrderNotice(status: "COMPLETED", title: "Order completed", body: "Your order has been fulfilled.")
        }
    }

    /// Why, in the customer's words.
    public static func cancellation(_ reason: String) -> String {
        switch reason {
        case "customer": "You cancelled the order."
        case "expired": "The order was not paid in time."
        case "out_of_stock": "Some items were out of stock; nothing was charged."
        case "admin": "The shop cancelled the order."
        default: "The order was cancelled (\(reason))."
        }
    }
}
