public import Foundation

/// An order as the API shows it.
public struct Order: Codable, Sendable, Hashable {
    public var id: UUID
    public var customerId: String
    public var status: OrderStatus
    public var cancelReason: String?
    /// What the product worker decided: `awaiting`, `reserved` or `rejected`.
    public var stock: String
    /// When the order side learned that decision.
    public var stockDecidedAt: Date?
    public var currency: String
    public var totalMinor: Int64
    public var lines: [OrderLine]
    public var createdAt: Date
    public var updatedAt: Date
}

extension Order {
    /// The id in lower case, as every other place (headers, messages, paths) writes it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(customerId, forKey: .customerId)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(cancelReason, forKey: .cancelReason)
        try container.encode(stock, forKey: .stock)
        try container.encodeIfPresent(stockDecidedAt, forKey: .stockDecidedAt)
        try container.encode(currency, forKey: .currency)
        try container.encode(totalMinor, forKey: .totalMinor)
        try container.encode(lines, forKey: .lines)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

public struct OrderLine: Codable, Sendable, Hashable {
    public var sku: String
    public var name: String
    public var quantity: Int
    public var unitPriceMinor: Int64
    public var lineTotalMinor: Int64
}

/// PENDING -> PAID -> COMPLETED, PENDING -> CANCELLED.
public struct OrderStatus: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let pending = OrderStatus(rawValue: "PENDING")
    public static let paid = OrderStatus(rawValue: "PAID")
    public static let completed = OrderStatus(rawValue: "COMPLETED")
    public static let cancelled = OrderStatus(rawValue: "CANCELLED")
    public static let all: [OrderStatus] = [.pending, .paid, .completed, .cancelled]
    public var description: String { rawValue }
}

/// `POST /orders`: SKUs and quantities; prices come from the order side's catalog copy.
public struct NewOrder: Codable, Sendable, Hashable {
    public struct Line: Codable, Sendable, Hashable {
        public var sku: String
        public var quantity: Int
        public init(sku: String, quantity: Int) {
            self.sku = sku
            self.quantity = quantity
        }
    }

    public var lines: [Line]

    public init(lines: [Line]) { self.lines = lines }

    public static let maximumLines = 100
    public static let quantities = 1...1000

    func validationErrors() -> [String] {
        var errors: [String] = []
        if lines.isEmpty { errors.append("lines: at least one line") }
        if lines.count > Self.maximumLines { errors.append("lines: at most \(Self.maximumLines) lines, got \(lines.count)") }
        for (index, line) in lines.enumerated() {
            if !Self.quantities.contains(line.quantity) {
                errors.append("lines[\(index)].quantity: \(Self.quantities.lowerBound) to \(Self.quantities.upperBound), got \(line.quantity)")
            }
            if line.sku.isEmpty || line.sku.utf8.count > 64 { errors.append("lines[\(index)].sku: 1 to 64 characters") }
        }
        let skus = lines.map(\.sku)
        if Set(skus).count != skus.count { errors.append("lines: each SKU at most once") }
        return errors
    }

    /// What makes two requests "the same body" for the idempotency check.
    var fingerprint: String {
        lines.map { "\($0.sku)\u{1F}\($0.quantity)" }.joined(separator: "\u{1E}")
    }
}
