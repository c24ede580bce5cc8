import DomainKit
import Foundation
import OrderingCore
import Testing

typealias Detail = DomainError.Detail

/// The order's rules without a server: every transition, the races the store resolves by locking
/// the row (pay versus expiry, cancel versus reservation), and the timers, with a test clock.
@Suite("Order rules")
struct OrderRulesTests {
    let id = UUID()
    let timings = OrderTimings()
    let clock = ManualClock()
    let customer = Caller(id: "ada", role: .customer)
    let prices = [
        "TEA": OrderRules.Price(name: "Tea", priceMinor: 450, currency: "EUR"),
        "CUP": OrderRules.Price(name: "Cup", priceMinor: 1200, currency: "EUR"),
        "MUG": OrderRules.Price(name: "Mug", priceMinor: 900, currency: "USD"),
    ]

    /// An order a cart's checkout placed, unless `checkout` is false.
    func state(_ status: OrderStatus = .pending, stock: StockDecision = .awaiting, reminders: Int = 0, checkout: Bool = true) -> OrderState {
        OrderState(customerID: customer.id, status: status, stock: stock, remindersSent: reminders, createdAt: clock.now, fromCheckout: checkout)
    }

    func mails(_ transition: OrderTransition) -> [OrderMail] {
        transition.effects.compactMap { if case .mail(let mail, _) = $0 { mail } else { nil } }
    }

    func timers(_ transition: OrderTransition) -> [OrderTimer] {
        transition.effects.compactMap { if case .schedule(let timer) = $0 { timer } else { nil } }
    }

    func refusal(_ body: () throws -> OrderTransition) -> DomainError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? DomainError
        }
    }

    // MARK: - Placing

    @Test("a new order is PENDING, awaits its stock, is priced from the catalog and starts the first reminder")
    func place() throws {
        let request = NewOrder(lines: [.init(sku: "TEA", quantity: 3), .init(sku: "CUP", quantity: 1)])
        let (order, effects) = try OrderRules.place(request, id: id, customerID: "ada", prices: prices, timings: timings, now: clock.now)
        #expect(order.status == .pending && order.stock == .awaiting && order.currency == "EUR")
        #expect(order.totalMinor == 3 * 450 + 1200)
        #expect(order.lines.map(\.lineTotalMinor) == [1350, 1200])
        let first = OrderTimer(kind: .reminder(1), due: clock.now.adding(.seconds(4 * 3600)), delay: .seconds(4 * 3600))
        #expect(effects == [.announce(.created), .schedule(first)])
    }

    @Test("a customer may hold up to the limits in unpaid orders: the last order and the last unit that fit are admitted", arguments: [
        (OpenOrders(count: 0, units: 0), 5, nil),
        (OpenOrders(count: 9, units: 995), 5, nil),
        (OpenOrders(count: 10, units: 0), 1, "openOrders"),
        (OpenOrders(count: 9, units: 996), 5, "openUnits"),
        (OpenOrders(count: 2, units: 0), 1_001, "openUnits"),
    ] as [(OpenOrders, Int, String?)])
    func admission(holding: OpenOrders, units: Int, refusedFor member: String?) {
        let request = NewOrder(lines: [.init(sku: "TEA", quantity: units)])
        do {
            try OrderRules.admit(request, holding: holding, limits: OrderLimits(openOrders: 10, openUnits: 1_000))
            #expect(member == nil, "admitted past the limit: \(holding) + \(units)")
        } catch {
            #expect(error.kind == .limited && member.map { error.details[$0] != nil } == true, "\(error)")
        }
    }

    @Test("placing refuses every invalid field at once, unknown SKUs by name, and mixed currencies")
    func placeRefusals() {
        func refused(_ lines: [NewOrder.Line]) -> DomainError? {
            do {
                _ = try OrderRules.place(NewOrder(lines: lines), id: id, customerID: "ada", prices: prices, timings: timings, now: clock.now)
                return nil
            } catch { return error }
        }
        let invalid = refused([.init(sku: "TEA", quantity: 0), .init(sku: "TEA", quantity: 1001), .init(sku: "", quantity: 1)])
        #expect(invalid?.kind == .invalid)
        #expect(invalid?.fields.map(\.field) == ["lines[0].quantity", "lines[1].quantity", "lines[2].sku", "lines"])
        #expect(refused([])?.fields == [.init("lines", "at least one line")])
        let unknown = refused([.init(sku: "TEA", quantity: 1), .init(sku: "GONE", quantity: 1)])
        #expect(unknown?.kind == .invalid && unknown?.details["skus"] == Detail.strings(["GONE"]))
        #expect(unknown?.fields.map(\.description) == ["unknown or deleted SKUs: GONE"] && unknown?.message == "unknown or deleted SKUs: GONE")
        #expect(refused([.init(sku: "TEA", quantity: 1), .init(sku: "MUG", quantity: 1)])?.message.contains("one currency") == true)
    }

    // MARK: - Commands

    @Test("pay: only a PENDING order with its stock reserved; the customer is mailed and the product side told")
    func pay() throws {
        let paid = try OrderRules.handle(.pay(by: customer), on: state(stock: .reserved), orderID: id)
        #expect(paid.state.status == .paid)
        #expect(paid.effects == [.statusChanged(from: .pending, to: .paid, reason: nil), .announce(.paid), .mail(.paymentReceived, data: [:])])
        let early = refusal { try OrderRules.handle(.pay(by: customer), on: state(stock: .awaiting), orderID: id) }
        #expect(early?.kind == .conflict && early?.details["stock"] == Detail.string("awaiting"))
        for status in [OrderStatus.paid, .completed, .cancelled] {
            let late = refusal { try OrderRules.handle(.pay(by: customer), on: state(status, stock: .reserved), orderID: id) }
            #expect(late?.kind == .conflict && late?.details["status"] == Detail.string(status.rawValue))
        }
    }

    @Test("another customer's order and a missing one are refused alike; an admin may act on any")
    func visibility() throws {
        let stranger = Caller(id: "eve", role: .customer)
        for command in [OrderCommand.pay(by: stranger), .cancel(by: stranger)] {
            #expect(refusal { try OrderRules.handle(command, on: state(stock: .reserved), orderID: id) } == OrderRules.notFound(id))
            #expect(refusal { try OrderRules.handle(command, on: nil, orderID: id) } == OrderRules.notFound(id))
        }
        let admin = Caller(id: "root", role: .admin)
        #expect(try OrderRules.handle(.cancel(by: admin), on: state(), orderID: id).state.status == .cancelled)
    }

    @Test("cancel by the customer: PENDING only; the reservation is released, a checkout's cart reopened, the customer mailed")
    func cancel() throws {
        let cancelled = try OrderRules.handle(.cancel(by: customer), on: state(), orderID: id)
        #expect(cancelled.effects == [
            .statusChanged(from: .pending, to: .cancelled, reason: .customer), .checkoutCart(.ended), .announce(.cancelled(.customer)),
            .mail(.orderCancelled, data: ["reason": "customer"]),
        ])
        #expect(refusal { try OrderRules.handle(.cancel(by: customer), on: state(.paid), orderID: id) }?.kind == .conflict)
    }

    @Test("admins cancel PENDING or PAID orders and complete PAID ones; anything else is a conflict")
    func administration() throws {
        for status in [OrderStatus.pending, .paid] {
            let cancelled = try OrderRules.handle(.cancelAsAdmin, on: state(status), orderID: id)
            #expect(cancelled.effects.first == .statusChanged(from: status, to: .cancelled, reason: .admin))
        }
        for status in [OrderStatus.completed, .cancelled] {
            let refused = refusal { try OrderRules.handle(.cancelAsAdmin, on: state(status), orderID: id) }
            #expect(refused?.kind == .conflict && refused?.details["orderStatus"] == Detail.string(status.rawValue))
        }
        let completed = try OrderRules.handle(.completeAsAdmin, on: state(.paid, stock: .reserved), orderID: id)
        #expect(completed.effects == [
            .statusChanged(from: .paid, to: .completed, reason: nil), .announce(.completed), .mail(.orderCompleted, data: [:]),
        ])
        for status in [OrderStatus.pending, .completed, .cancelled] {
            #expect(refusal { try OrderRules.handle(.completeAsAdmin, on: state(status), orderID: id) }?.kind == .conflict)
        }
    }

    // MARK: - Races the row lock serialises

    @Test("pay versus expiry: whichever comes first wins, the other changes nothing it should not")
    func payVersusExpiry() throws {
        let reserved = state(stock: .reserved)
        // The expiry first: cancelled, and the late payment is refused.
        let expired = OrderRules.handle(.expiryDue, on: reserved, timings: timings, now: clock.now)
        #expect(expired.state.status == .cancelled && expired.effects.contains(.announce(.cancelled(.expired))))
        #expect(refusal { try OrderRules.handle(.pay(by: customer), on: expired.state, orderID: id) }?.kind == .conflict)
        // The payment first: the expiry completes the order instead of cancelling it.
        let paid = try OrderRules.handle(.pay(by: customer), on: reserved, orderID: id)
        let completed = OrderRules.handle(.expiryDue, on: paid.state, timings: timings, now: clock.now)
        #expect(completed.state.status == .completed && completed.effects.contains(.announce(.completed)))
        // A redelivered expiry after either does nothing.
        for end in [expired.state, completed.state] {
            #expect(OrderRules.handle(.expiryDue, on: end, timings: timings, now: clock.now).effects.isEmpty)
        }
    }

    @Test("cancel versus reservation: a decision arriving after the cancel is recorded and frees the cart, but mails and cancels nothing")
    func cancelVersusReservation() throws {
        let cancelled = try OrderRules.handle(.cancel(by: customer), on: state(), orderID: id).state
        let reserved = OrderRules.handle(.stockReserved, on: cancelled, timings: timings, now: clock.now)
        #expect(reserved.state.status == .cancelled && reserved.state.stock == .reserved)
        #expect(reserved.effects == [.stockDecided(.reserved), .checkoutCart(.reserved)])
        let shortfall = StockShortfall(sku: "TEA", requested: 5, available: 2)
        let rejected = OrderRules.handle(.stockRejected([shortfall]), on: cancelled, timings: timings, now: clock.now)
        #expect(rejected.effects == [.stockDecided(.rejected), .checkoutCart(.rejected([shortfall]))])
    }

    @Test("an order placed without a checkout has no cart to tell: no cart effect on its decision or cancellation")
    func noCheckoutNoCart() throws {
        let direct = state(checkout: false)
        func cartEffects(_ transition: OrderTransition) -> [OrderEffect] {
            transition.effects.filter { if case .checkoutCart = $0 { true } else { false } }
        }
        let shortfall = StockShortfall(sku: "TEA", requested: 5, available: 2)
        let reserved = OrderRules.handle(.stockReserved, on: direct, timings: timings, now: clock.now)
        #expect(reserved.effects == [.stockDecided(.reserved), .mail(.orderConfirmation, data: [:])])
        let rejected = OrderRules.handle(.stockRejected([shortfall]), on: direct, timings: timings, now: clock.now)
        #expect(rejected.state.status == .cancelled && cartEffects(rejected).isEmpty)
        let cancelled = try OrderRules.handle(.cancel(by: customer), on: direct, orderID: id)
        #expect(cancelled.state.status == .cancelled && cartEffects(cancelled).isEmpty)
        #expect(cartEffects(OrderRules.handle(.expiryDue, on: direct, timings: timings, now: clock.now)).isEmpty)
        // The same events on a checkout's order do tell its cart.
        #expect(cartEffects(OrderRules.handle(.stockReserved, on: state(), timings: timings, now: clock.now)) == [.checkoutCart(.reserved)])
        #expect(cartEffects(OrderRules.handle(.expiryDue, on: state(), timings: timings, now: clock.now)) == [.checkoutCart(.ended)])
    }

    @Test("a stock decision is recorded once: a redelivered or contrary one changes nothing")
    func decisionOnce() {
        let reserved = OrderRules.handle(.stockReserved, on: state(), timings: timings, now: clock.now)
        #expect(mails(reserved) == [.orderConfirmation])
        #expect(OrderRules.handle(.stockReserved, on: reserved.state, timings: timings, now: clock.now).effects.isEmpty)
        #expect(OrderRules.handle(.stockRejected([]), on: reserved.state, timings: timings, now: clock.now).effects.isEmpty)
    }

    @Test("a rejected PENDING order is cancelled out of stock, with the shortages in the customer's mail")
    func rejected() {
        let shortfalls = [StockShortfall(sku: "TEA", requested: 5, available: 2), StockShortfall(sku: "CUP", requested: 1, available: 0)]
        let rejected = OrderRules.handle(.stockRejected(shortfalls), on: state(), timings: timings, now: clock.now)
        #expect(rejected.state.status == .cancelled && rejected.state.stock == .rejected)
        #expect(rejected.effects.contains(.statusChanged(from: .pending, to: .cancelled, reason: .outOfStock)))
        #expect(rejected.effects.contains(.mail(
            .outOfStock, data: ["reason": "out_of_stock", "shortages": "TEA: 5 requested, 2 available; CUP: 1 requested, 0 available"])))
    }

    // MARK: - Timers

    /// Runs an order's timer chain on the test clock: each timer fires at its due time (`late`
    /// after it), and `act` may change the order before a timer fires.
    func runTimers(
        _ start: OrderState, late: Duration = .zero, act: (OrderTimer, inout OrderState) throws -> Void = { _, _ in }
    ) rethrows -> (mails: [String], end: OrderState) {
        var order = start
        var next: OrderTimer? = OrderTimer.first(createdAt: order.createdAt, timings: timings, now: clock.now)
        var mails: [String] = []
        while let timer = next {
            clock.advance(by: .milliseconds(Int64(timer.due.timeIntervalSince(clock.now) * 1000)) + late)
            try act(timer, &order)
            let event: OrderEvent = switch timer.kind {
            case .reminder(let number): .reminderDue(number)
            case .expiry: .expiryDue
            }
            let transition = OrderRules.handle(event, on: order, timings: timings, now: clock.now)
            order = transition.state
            mails += transition.effects.compactMap {
                if case .mail(let mail, let data) = $0 { data["reminder"].map { "\(mail.rawValue) \($0)" } ?? mail.rawValue } else { nil }
            }
            next = timers(transition).first
        }
        return (mails, order)
    }

    @Test("unpaid: three reminders at 4, 12 and 22 hours, then the expiry at 24 cancels it; no fourth reminder")
    func unpaidChain() throws {
        let (mails, end) = try runTimers(state(stock: .reserved))
        #expect(mails == ["payment_reminder 1", "payment_reminder 2", "payment_reminder 3", "order_cancelled"])
        #expect(end.status == .cancelled && end.remindersSent == 3)
    }

    @Test("paid after the first reminder: no more reminders, and the expiry completes the order")
    func paidChain() throws {
        let (mails, end) = try runTimers(state(stock: .reserved)) { timer, order in
            if timer.kind == .reminder(2) { order = try OrderRules.handle(.pay(by: customer), on: order, orderID: id).state }
        }
        #expect(mails == ["payment_reminder 1", "order_completed"])
        #expect(end.status == .completed)
    }

    @Test("a timer that fires late does not move the next one: every due time counts from the order's creation")
    func lateTimers() {
        let created = clock.now
        let reminded = OrderRules.handle(.reminderDue(1), on: state(), timings: timings, now: created.adding(.seconds(5 * 3600)))
        #expect(timers(reminded) == [OrderTimer(kind: .reminder(2), due: created.adding(.seconds(12 * 3600)), delay: .seconds(7 * 3600))])
        // Past its due time already (a worker down for a day): due at once.
        let overdue = OrderRules.handle(.reminderDue(3), on: state(), timings: timings, now: created.adding(.seconds(30 * 3600)))
        #expect(timers(overdue).map(\.delay) == [.zero] && timers(overdue).map(\.kind) == [.expiry])
    }

    @Test("a redelivered reminder mails nothing twice but still schedules the next; an ended order's chain stops")
    func redeliveredReminder() {
        let again = OrderRules.handle(.reminderDue(1), on: state(reminders: 1), timings: timings, now: clock.now)
        #expect(mails(again).isEmpty && timers(again).map(\.kind) == [.reminder(2)])
        for status in [OrderStatus.completed, .cancelled] {
            #expect(OrderRules.handle(.reminderDue(2), on: state(status), timings: timings, now: clock.now).effects.isEmpty)
        }
        let paid = OrderRules.handle(.reminderDue(1), on: state(.paid, stock: .reserved), timings: timings, now: clock.now)
        #expect(mails(paid).isEmpty && timers(paid).map(\.kind) == [.expiry])
    }

    @Test("without reminders configured the first timer is the expiry")
    func noReminders() {
        let timings = OrderTimings(reminders: [], expiry: .seconds(60))
        #expect(OrderTimer.first(createdAt: clock.now, timings: timings, now: clock.now).kind == .expiry)
    }
}
