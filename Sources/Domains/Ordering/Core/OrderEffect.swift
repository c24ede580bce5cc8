public import DomainKit
public import Foundation

/// The order as its rules read it: its locked row.
public struct OrderState: Sendable, Hashable {
    public var customerID: String
    public var status: OrderStatus
    public var stock: StockDecision
    /// The highest payment reminder mailed (0: none).
    public var remindersSent: Int
    public var createdAt: Date
    /// A cart's checkout placed the order: only then does its stock decision or cancellation
    /// concern a cart (``OrderEffect/checkoutCart(_:)``).
    public var fromCheckout: Bool

    public init(
        customerID: String, status: OrderStatus, stock: StockDecision, remindersSent: Int = 0, createdAt: Date, fromCheckout: Bool
    ) {
        self.customerID = customerID
        self.status = status
        self.stock = stock
        self.remindersSent = remindersSent
        self.createdAt = createdAt
        self.fromCheckout = fromCheckout
    }
}

/// Something a transition asks the store to do, in the transition's own transaction.
public enum OrderEffect: Sendable, Hashable {
    /// The status changed: written with the order's history entry and the cause.
    case statusChanged(from: OrderStatus, to: OrderStatus, reason: CancelReason?)
    /// The product side's decision, recorded once.
    case stockDecided(StockDecision)
    /// Payment reminder `number` was mailed.
    case reminderRecorded(Int)
    /// An event for the product side (and anyone listening) about the order.
    case announce(OrderAnnouncement)
    /// A mail to the order's customer, with the template's data.
    case mail(OrderMail, data: [String: String])
    /// The order's next timer.
    case schedule(OrderTimer)
    /// What becomes of the cart whose checkout made this order (asked only of such an order).
    case checkoutCart(CheckoutOutcome)
}

/// Events the order side publishes.
public enum OrderAnnouncement: Sendable, Hashable {
    /// Reserve the order's lines.
    case created
    case paid
    /// Release what was reserved.
    case cancelled(CancelReason)
    /// Sell what was reserved.
    case completed
}

/// The order mails; their names are the mail templates'.
public enum OrderMail: String, Sendable, Hashable, CaseIterable {
    case orderConfirmation = "order_confirmation"
    case paymentReminder = "payment_reminder"
    case orderCancelled = "order_cancelled"
    case outOfStock = "out_of_stock"
    case paymentReceived = "payment_received"
    case orderCompleted = "order_completed"
}

/// The end of a checkout's wait for its order's stock decision.
public enum CheckoutOutcome: Sendable, Hashable {
    /// The cart became the order: emptied, open again.
    case reserved
    /// Open again, each short line marked.
    case rejected([StockShortfall])
    /// The order ended before a decision: open again, lines kept.
    case ended
}

/// A transition's result: the state after it and what the store must do. No effects: nothing
/// changes (a message that found the order already moved on).
public struct OrderTransition: Sendable, Hashable {
    public var state: OrderState
    public var effects: [OrderEffect]

    public init(state: OrderState, effects: [OrderEffect] = []) {
        self.state = state
        self.effects = effects
    }
}
