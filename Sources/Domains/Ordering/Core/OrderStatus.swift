/// PENDING -> PAID -> COMPLETED; PENDING or PAID -> CANCELLED. ``OrderRules`` holds the arrows.
public enum OrderStatus: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case pending = "PENDING"
    case paid = "PAID"
    case completed = "COMPLETED"
    case cancelled = "CANCELLED"

    public var description: String { rawValue }

    /// Nothing moves an order on from here.
    public var isTerminal: Bool { self == .completed || self == .cancelled }
}

/// What the product worker decided about an order's stock, as the order side learned it.
public enum StockDecision: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case awaiting
    case reserved
    case rejected

    public var description: String { rawValue }
}

/// Why an order was cancelled.
public enum CancelReason: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The customer cancelled it.
    case customer
    /// An admin cancelled it.
    case admin
    /// The product worker could not reserve every line.
    case outOfStock = "out_of_stock"
    /// Not paid before its expiry.
    case expired

    public var description: String { rawValue }
}
