public import DomainKit
public import Foundation

/// `open`, or `locked` while a checkout waits for its order's stock decision.
public enum CartStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case open
    case locked
}

/// A cart as its rules read it: its locked row.
public struct CartState: Sendable, Hashable {
    public var status: CartStatus
    /// The Idempotency-Key of the checkout holding the lock.
    public var checkoutKey: String?
    public var updatedAt: Date

    public init(status: CartStatus, checkoutKey: String? = nil, updatedAt: Date) {
        self.status = status
        self.checkoutKey = checkoutKey
        self.updatedAt = updatedAt
    }

    public static func open(at time: Date) -> CartState { CartState(status: .open, updatedAt: time) }
}

/// What becomes of a cart's lines when a rule changes it.
public enum CartLines: Sendable, Hashable {
    case kept
    /// The checkout's order took them.
    case emptied
    /// Each short line marked with what was asked and what there was.
    case marked([StockShortfall])
}

/// The cart's rules. A cart is changed only while open; a checkout locks it with its
/// Idempotency-Key, and only that checkout's order ends the lock (reserved empties it, rejected
/// marks the short lines, any other end keeps them), or the checkout's own failure before its
/// order exists, or the purge once the lock outlived any reason to hold it.
public enum CartRules {
    public static let maximumQuantity = 1000
    /// A lock older than this with no order awaiting its decision is a checkout that died half-way.
    public static let staleLock: Duration = .seconds(600)

    // MARK: - Changes by the customer

    /// A change needs an open cart: none at all is 404, a locked one 409.
    public static func change(_ cart: CartState?) throws(DomainError) {
        guard let cart else { throw .notFound("The cart is empty.") }
        guard cart.status == .open else { throw locked }
    }

    /// The rules of `POST /cart/items` that need nothing from the store.
    public static func validate(sku: String, quantity: Int) throws(DomainError) {
        var validation = Validation()
        validation.require((1...maximumQuantity).contains(quantity), "quantity", "1 to \(maximumQuantity)")
        validation.require(!sku.isEmpty && sku.utf8.count <= 64, "sku", "1 to 64 characters")
        try validation.check()
    }

    /// Adding `quantity` of `sku` to a cart that holds `held` of it and `otherLines` other products.
    public static func add(sku: String, quantity: Int, productExists: Bool, held: Int, otherLines: Int) throws(DomainError) {
        guard productExists else { throw .invalid("sku", "no product \(sku)", details: ["skus": .strings([sku])]) }
        guard otherLines < NewOrder.maximumLines else { throw .invalid("lines", "at most \(NewOrder.maximumLines) different products") }
        guard held + quantity <= maximumQuantity else {
            throw .invalid("quantity", "at most \(maximumQuantity) of one product in all; the cart holds \(held)")
        }
    }

    /// A line's new quantity; 0 removes it.
    public static func validate(newQuantity quantity: Int) throws(DomainError) {
        guard (0...maximumQuantity).contains(quantity) else { throw .invalid("quantity", "0 to \(maximumQuantity)") }
    }

    public static func noLine(_ sku: String) -> DomainError { .notFound("The cart holds no \(sku).") }

    // MARK: - Checkout

    public enum CheckoutStep: Sendable, Hashable {
        /// Lock the cart with the key and place its order.
        case lock(CartState)
        /// The same checkout again (a double submit): place (or replay) its order, the lock stays.
        case repeatOf
    }

    /// A checkout with `key` of a cart holding `lineCount` lines.
    public static func checkout(_ cart: CartState?, lineCount: Int, key: String, now: Date) throws(DomainError) -> CheckoutStep {
        guard let cart else { throw empty }
        if cart.status == .locked {
            guard cart.checkoutKey == key else { throw locked }
            return .repeatOf
        }
        guard lineCount > 0 else { throw empty }
        return .lock(CartState(status: .locked, checkoutKey: key, updatedAt: now))
    }

    /// The checkout with `key` failed or was refused: the cart opens again, unless the key's order
    /// was made by a checkout (then that order's decision opens it).
    public static func abandonCheckout(_ cart: CartState, key: String, checkoutOrderExists: Bool, now: Date) -> CartState? {
        guard cart.status == .locked, cart.checkoutKey == key, !checkoutOrderExists else { return nil }
        return .open(at: now)
    }

    // MARK: - The checkout's order decided

    /// The cart locked by the checkout whose order this is learns how the order went. `nil`: no
    /// change (the cart is open already, or another checkout holds it).
    public static func conclude(_ cart: CartState, checkoutKey key: String, outcome: CheckoutOutcome, now: Date) -> (CartState, CartLines)? {
        guard cart.status == .locked, cart.checkoutKey == key else { return nil }
        switch outcome {
        case .reserved: return (.open(at: now), .emptied)
        case .rejected(let shortfalls): return (.open(at: now), .marked(shortfalls))
        case .ended: return (.open(at: now), .kept)
        }
    }

    // MARK: - Purge

    public enum PurgeDecision: Sendable, Hashable {
        case keep
        /// The lock outlived any reason to hold it.
        case reopen
        /// Open and untouched for the carts' lifetime.
        case delete
    }

    /// `orderAwaiting`: an order made with the lock's key is live (PENDING or PAID) and its stock
    /// not decided yet, so its decision will end the lock.
    public static func purge(_ cart: CartState, orderAwaiting: Bool, lifetime: Duration, now: Date) -> PurgeDecision {
        switch cart.status {
        case .locked:
            return !orderAwaiting && cart.updatedAt < now.adding(.zero - staleLock) ? .reopen : .keep
        case .open:
            return cart.updatedAt < now.adding(.zero - lifetime) ? .delete : .keep
        }
    }

    static let locked = DomainError.conflict("A checkout of this cart is waiting for its stock decision; change it afterwards.")
    static let empty = DomainError.invalid("lines", "the cart is empty")
}
