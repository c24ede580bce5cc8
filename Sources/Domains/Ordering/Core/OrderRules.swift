public import DomainKit
public import Foundation

/// What a caller asks of an existing order.
public enum OrderCommand: Sendable, Hashable {
    /// PENDING -> PAID, once the stock is reserved.
    case pay(by: Caller)
    /// PENDING -> CANCELLED (`customer`), whoever asks through the customer's API.
    case cancel(by: Caller)
    /// PENDING or PAID -> CANCELLED (`admin`).
    case cancelAsAdmin
    /// PAID -> COMPLETED before the expiry would.
    case completeAsAdmin
}

/// What happens to an order from outside: the product side's decision and its timers.
public enum OrderEvent: Sendable, Hashable {
    case stockReserved
    case stockRejected([StockShortfall])
    case reminderDue(Int)
    case expiryDue
}

/// The order's rules: from a state and a command or event (and the time), the next state and its
/// effects, or the refusal. No I/O: the store locks the row, asks, and applies the effects in the
/// same transaction, so a command that loses a race (to the expiry, a cancel, another pay) sees
/// the winner's state and is refused, and a message that finds the order moved on does nothing.
public enum OrderRules {
    // MARK: - Placing

    /// An order's price as the order side's catalog copy has it.
    public struct Price: Sendable, Hashable {
        public var name: String
        public var priceMinor: Int64
        public var currency: String

        public init(name: String, priceMinor: Int64, currency: String) {
            self.name = name
            self.priceMinor = priceMinor
            self.currency = currency
        }
    }

    /// A new PENDING order from `request`, priced from `prices` (live products by SKU): refused
    /// when the request is invalid, names a SKU without a price, or mixes currencies. Its effects
    /// ask the product side to reserve the lines and start the timers.
    public static func place(
        _ request: NewOrder, id: UUID, customerID: String, prices: [String: Price], timings: OrderTimings, now: Date
    ) throws(DomainError) -> (order: Order, effects: [OrderEffect]) {
        try request.validate()
        let unknown = request.lines.map(\.sku).filter { prices[$0] == nil }
        guard unknown.isEmpty else {
            throw .invalid("", "unknown or deleted SKUs: \(unknown.joined(separator: ", "))", details: ["skus": .strings(unknown)])
        }
        let lines = request.lines.map { line in
            let price = prices[line.sku]!
            return OrderLine(sku: line.sku, name: price.name, quantity: line.quantity, unitPriceMinor: price.priceMinor)
        }
        let currencies = Set(request.lines.compactMap { prices[$0.sku]?.currency })
        guard currencies.count == 1, let currency = currencies.first else {
            throw .invalid("lines", "every product of an order must be priced in one currency, got \(currencies.sorted().joined(separator: ", "))")
        }
        let order = Order(
            id: id, customerId: customerID, status: .pending, stock: .awaiting, currency: currency,
            totalMinor: lines.reduce(0) { $0 + $1.lineTotalMinor }, lines: lines, createdAt: now, updatedAt: now)
        return (order, [.announce(.created), .schedule(OrderTimer.first(createdAt: now, timings: timings, now: now))])
    }

    /// A customer holding `holding` in unpaid orders may place `request` only within `limits`;
    /// otherwise 429 until they pay, cancel or let some expire.
    public static func admit(_ request: NewOrder, holding: OpenOrders, limits: OrderLimits) throws(DomainError) {
        let units = request.lines.reduce(0) { $0 + $1.quantity }
        if holding.count >= limits.openOrders {
            throw DomainError(
                .limited, "You have \(holding.count) unpaid orders, the most one customer may hold; pay or cancel one first.",
                summary: "Too many unpaid orders", details: ["openOrders": .int(holding.count), "limit": .int(limits.openOrders)])
        }
        if holding.units + units > limits.openUnits {
            throw DomainError(
                .limited, "Your unpaid orders hold \(holding.units) units and this one asks for \(units); "
                    + "one customer may hold at most \(limits.openUnits). Pay or cancel some first.",
                summary: "Too many units in unpaid orders",
                details: ["openUnits": .int(holding.units), "requestedUnits": .int(units), "limit": .int(limits.openUnits)])
        }
    }

    // MARK: - Commands

    /// `state` is `nil` for an order that does not exist; one the caller may not see is refused
    /// the same way.
    public static func handle(_ command: OrderCommand, on state: OrderState?, orderID: UUID) throws(DomainError) -> OrderTransition {
        guard let state else { throw notFound(orderID) }
        switch command {
        case .pay(let caller):
            guard caller.mayAccess(ownedBy: state.customerID) else { throw notFound(orderID) }
            guard state.status == .pending else {
                throw .conflict("The order is \(state.status); only a PENDING order can be paid.", details: ["status": .string(state.status.rawValue)])
            }
            guard state.stock == .reserved else {
                throw .conflict("The order's stock is not reserved yet; pay once it is.", details: ["stock": .string(state.stock.rawValue)])
            }
            return change(state, to: .paid, [.announce(.paid), .mail(.paymentReceived, data: [:])])
        case .cancel(let caller):
            guard caller.mayAccess(ownedBy: state.customerID) else { throw notFound(orderID) }
            guard state.status == .pending else {
                throw .conflict(
                    "The order is \(state.status); only a PENDING order can be cancelled.", details: ["status": .string(state.status.rawValue)])
            }
            return cancel(state, .customer, mail: .orderCancelled)
        case .cancelAsAdmin:
            guard state.status == .pending || state.status == .paid else {
                throw .conflict(
                    "The order is \(state.status); only a PENDING or PAID order can be cancelled.",
                    details: ["orderStatus": .string(state.status.rawValue)])
            }
            return cancel(state, .admin, mail: .orderCancelled)
        case .completeAsAdmin:
            guard state.status == .paid else {
                throw .conflict(
                    "The order is \(state.status); only a PAID order can be completed.", details: ["orderStatus": .string(state.status.rawValue)])
            }
            return complete(state)
        }
    }

    public static func notFound(_ id: UUID) -> DomainError { .notFound("There is no order \(id.uuidString.lowercased()).") }

    // MARK: - Events

    /// The product side's decision is recorded once (a redelivered decision changes nothing);
    /// a checkout's cart learns it whatever the order's status (an order placed otherwise has
    /// none); only a PENDING order is mailed (reserved) or cancelled (rejected).
    public static func handle(_ event: OrderEvent, on state: OrderState, timings: OrderTimings, now: Date) -> OrderTransition {
        switch event {
        case .stockReserved:
            guard state.stock == .awaiting else { return OrderTransition(state: state) }
            var decided = state
            decided.stock = .reserved
            var effects: [OrderEffect] = [.stockDecided(.reserved)] + checkout(state, .reserved)
            if state.status == .pending { effects.append(.mail(.orderConfirmation, data: [:])) }
            return OrderTransition(state: decided, effects: effects)
        case .stockRejected(let shortfalls):
            guard state.stock == .awaiting else { return OrderTransition(state: state) }
            var decided = state
            decided.stock = .rejected
            let effects: [OrderEffect] = [.stockDecided(.rejected)] + checkout(state, .rejected(shortfalls))
            guard state.status == .pending else { return OrderTransition(state: decided, effects: effects) }
            let listed = shortfalls.map { "\($0.sku): \($0.requested) requested, \($0.available) available" }
            let cancelled = cancel(decided, .outOfStock, mail: .outOfStock, data: ["shortages": listed.joined(separator: "; ")])
            return OrderTransition(state: cancelled.state, effects: effects + cancelled.effects)
        case .reminderDue(let number):
            return remind(state, number: number, timings: timings, now: now)
        case .expiryDue:
            switch state.status {
            case .pending: return cancel(state, .expired, mail: .orderCancelled)
            case .paid: return complete(state)
            case .completed, .cancelled: return OrderTransition(state: state)
            }
        }
    }

    /// Mails reminder `number` to a PENDING order that has not had it, then schedules the next
    /// timer: the next reminder, or the expiry once the reminders are done or the order is paid.
    /// A cancelled or completed order's chain ends here.
    static func remind(_ state: OrderState, number: Int, timings: OrderTimings, now: Date) -> OrderTransition {
        guard !state.status.isTerminal else { return OrderTransition(state: state) }
        var next = state
        var effects: [OrderEffect] = []
        if state.status == .pending, state.remindersSent < number {
            next.remindersSent = number
            effects += [.reminderRecorded(number), .mail(.paymentReminder, data: ["reminder": String(number)])]
        }
        let timer = OrderTimer.next(
            after: number, createdAt: state.createdAt, timings: timings, skipReminders: state.status != .pending, now: now)
        return OrderTransition(state: next, effects: effects + [.schedule(timer)])
    }

    // MARK: - The arrows

    private static func change(_ state: OrderState, to status: OrderStatus, reason: CancelReason? = nil, _ effects: [OrderEffect]) -> OrderTransition {
        var next = state
        next.status = status
        return OrderTransition(state: next, effects: [.statusChanged(from: state.status, to: status, reason: reason)] + effects)
    }

    /// -> CANCELLED: the product side releases the reservation, a checkout's cart opens again, the
    /// customer is mailed why.
    private static func cancel(_ state: OrderState, _ reason: CancelReason, mail: OrderMail, data: [String: String] = [:]) -> OrderTransition {
        var fields = data
        fields["reason"] = reason.rawValue
        return change(state, to: .cancelled, reason: reason, checkout(state, .ended) + [.announce(.cancelled(reason)), .mail(mail, data: fields)])
    }

    /// The cart's part of a transition: only an order a checkout placed has a cart to tell (the
    /// others skip the look-up of a cart that is not there).
    private static func checkout(_ state: OrderState, _ outcome: CheckoutOutcome) -> [OrderEffect] {
        state.fromCheckout ? [.checkoutCart(outcome)] : []
    }

    /// PAID -> COMPLETED: the product side sells the reserved units.
    private static func complete(_ state: OrderState) -> OrderTransition {
        change(state, to: .completed, [.announce(.completed), .mail(.orderCompleted, data: [:])])
    }
}
