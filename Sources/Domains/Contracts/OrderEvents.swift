public import Foundation
public import Messaging

/// `order.created` on the order topic, keyed by order id: the product worker reserves its lines.
public struct OrderCreated: MessagePayload, Hashable {
    public static let messageType = "order.created"
    public var orderID: UUID
    public var customerID: String
    public var lines: [StockLine]
    public var totalMinor: Int64
    public var currency: String
    public init(orderID: UUID, customerID: String, lines: [StockLine], totalMinor: Int64, currency: String) {
        self.orderID = orderID
        self.customerID = customerID
        self.lines = lines
        self.totalMinor = totalMinor
        self.currency = currency
    }
}

/// `order.cancelled`: the product worker releases the order's reservation, if it made one.
public struct OrderCancelled: MessagePayload, Hashable {
    public static let messageType = "order.cancelled"
    public var orderID: UUID
    /// `customer`, `expired`, `out_of_stock`, ...
    public var reason: String
    public init(orderID: UUID, reason: String) {
        self.orderID = orderID
        self.reason = reason
    }
}

/// `order.paid`.
public struct OrderPaid: MessagePayload, Hashable {
    public static let messageType = "order.paid"
    public var orderID: UUID
    public init(orderID: UUID) { self.orderID = orderID }
}

/// `order.completed`: the reserved units are sold.
public struct OrderCompleted: MessagePayload, Hashable {
    public static let messageType = "order.completed"
    public var orderID: UUID
    public init(orderID: UUID) { self.orderID = orderID }
}

/// `order.payment-reminder-due`: a delayed AMQP message; the order worker mails a reminder if the
/// order is still PENDING.
public struct PaymentReminderDue: MessagePayload, Hashable {
    public static let messageType = "order.payment-reminder-due"
    public var orderID: UUID
    /// 1, 2, 3...
    public var number: Int
    public init(orderID: UUID, number: Int) {
        self.orderID = orderID
        self.number = number
    }
}

/// `order.expiry-due`: a delayed AMQP message; PENDING orders are cancelled, PAID ones completed.
public struct OrderExpiryDue: MessagePayload, Hashable {
    public static let messageType = "order.expiry-due"
    public var orderID: UUID
    public init(orderID: UUID) { self.orderID = orderID }
}
