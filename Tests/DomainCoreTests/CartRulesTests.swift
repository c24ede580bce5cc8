import DomainKit
import Foundation
import OrderingCore
import Testing

/// The cart's lock and reopen rule as one state machine: who may change it, what a checkout does,
/// what ends the lock, and what the purge does, as tables of cases.
@Suite("Cart rules")
struct CartRulesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let open = CartState.open(at: now)
    static let lockedA = CartState(status: .locked, checkoutKey: "A", updatedAt: now)

    @Test("changes need an open cart", arguments: [
        (nil as CartState?, DomainError.Kind.notFound as DomainError.Kind?),
        (open, nil),
        (lockedA, .conflict),
    ])
    func changes(cart: CartState?, refused: DomainError.Kind?) {
        #expect(Result { () throws(DomainError) in try CartRules.change(cart) }.refusal == refused)
    }

    @Test("adding respects the product, the line count and the quantity cap", arguments: [
        (true, 0, 99, 1000, nil as String?),
        (false, 0, 0, 1, "sku"),
        (true, 0, 100, 1, "lines"),
        (true, 999, 0, 1, nil),
        (true, 999, 0, 2, "quantity"),
    ])
    func add(productExists: Bool, held: Int, otherLines: Int, quantity: Int, field: String?) {
        let result = Result { () throws(DomainError) in
            try CartRules.add(sku: "TEA", quantity: quantity, productExists: productExists, held: held, otherLines: otherLines)
        }
        #expect(result.failure?.fields.map(\.field) == field.map { [$0] })
    }

    @Test("checkout: an open cart with lines locks with the key; the same key again repeats; another key or an empty cart is refused")
    func checkout() {
        func step(_ cart: CartState?, lines: Int, key: String) -> Result<CartRules.CheckoutStep, DomainError> {
            Result { () throws(DomainError) in try CartRules.checkout(cart, lineCount: lines, key: key, now: Self.now) }
        }
        #expect(step(Self.open, lines: 2, key: "A").success == .lock(Self.lockedA))
        #expect(step(Self.lockedA, lines: 2, key: "A").success == .repeatOf)
        #expect(step(Self.lockedA, lines: 2, key: "B").failure?.kind == .conflict)
        #expect(step(Self.open, lines: 0, key: "A").failure?.fields == [.init("lines", "the cart is empty")])
        #expect(step(nil, lines: 0, key: "A").failure?.kind == .invalid)
    }

    @Test("the checkout's order decides: reserved empties, rejected marks the short lines, any other end keeps them; only the lock's own key counts")
    func conclude() {
        let short = [StockShortfall(sku: "TEA", requested: 3, available: 1)]
        let later = Self.now.addingTimeInterval(5)
        let table: [(CartState, String, CheckoutOutcome, CartLines?)] = [
            (Self.lockedA, "A", .reserved, .emptied),
            (Self.lockedA, "A", .rejected(short), .marked(short)),
            (Self.lockedA, "A", .ended, .kept),
            (Self.lockedA, "B", .reserved, nil),
            (Self.open, "A", .reserved, nil),
        ]
        for (cart, key, outcome, lines) in table {
            let result = CartRules.conclude(cart, checkoutKey: key, outcome: outcome, now: later)
            #expect(result?.1 == lines, "\(cart.status) \(key) \(outcome)")
            if lines != nil { #expect(result?.0 == .open(at: later)) }
        }
    }

    @Test("a failed checkout reopens its own lock, unless a checkout made the key's order")
    func abandon() {
        #expect(CartRules.abandonCheckout(Self.lockedA, key: "A", checkoutOrderExists: false, now: Self.now) == Self.open)
        #expect(CartRules.abandonCheckout(Self.lockedA, key: "A", checkoutOrderExists: true, now: Self.now) == nil)
        #expect(CartRules.abandonCheckout(Self.lockedA, key: "B", checkoutOrderExists: false, now: Self.now) == nil)
        #expect(CartRules.abandonCheckout(Self.open, key: "A", checkoutOrderExists: false, now: Self.now) == nil)
    }

    @Test("the purge: stale locks without an awaiting order reopen, idle open carts go, everything else stays")
    func purge() {
        let day: Duration = .seconds(86_400)
        func cart(_ status: CartStatus, idle seconds: Int) -> CartState {
            CartState(status: status, checkoutKey: status == .locked ? "A" : nil, updatedAt: Self.now.addingTimeInterval(-Double(seconds)))
        }
        let table: [(CartState, Bool, CartRules.PurgeDecision)] = [
            (cart(.locked, idle: 599), false, .keep),
            (cart(.locked, idle: 601), false, .reopen),
            (cart(.locked, idle: 100_000), true, .keep),
            (cart(.open, idle: 86_399), false, .keep),
            (cart(.open, idle: 86_401), false, .delete),
        ]
        for (state, awaiting, decision) in table {
            #expect(CartRules.purge(state, orderAwaiting: awaiting, lifetime: day, now: Self.now) == decision, "\(state) \(awaiting)")
        }
    }
}

extension Result {
    var success: Success? { if case .success(let value) = self { value } else { nil } }
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}

extension Result where Success == Void, Failure == DomainError {
    var refusal: DomainError.Kind? { failure?.kind }
}
