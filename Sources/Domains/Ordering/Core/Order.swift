public import DomainKit
public import Foundation

/// An order as the API shows it.
public struct Order: Codable, Sendable, Hashable {
    public var id: UUID
    public var customerId: String
    public var status: OrderStatus
    public var cancelReason: CancelReason?
    /// What the product worker decided.
    public var stock: StockDecision
    /// When the order side learned that decision.
    public var stockDecidedAt: Date?
    public var currency: String
    public var totalMinor: Int64
    public var lines: [OrderLine]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, customerId: String, status: OrderStatus, cancelReason: CancelReason? = nil, stock: StockDecision,
        stockDecidedAt: Date? = nil, currency: String, totalMinor: Int64, lines: [OrderLine], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.customerId = customerId
        self.status = status
        self.cancelReason = cancelReason
        self.stock = stock
        self.stockDecidedAt = stockDecidedAt
        self.currency = currency
        self.totalMinor = totalMinor
        self.lines = lines
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
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

    public init(sku: String, name: String, quantity: Int, unitPriceMinor: Int64) {
        self.sku = sku
        self.name = name
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
        self.lineTotalMinor = unitPriceMinor * Int64(quantity)
    }
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

    /// Every rule the request breaks, at once.
    public func validate() throws(DomainError) {
        var validation = Validation()
        validation.require(!lines.isEmpty, "lines", "at least one line")
        validation.require(lines.count <= Self.maximumLines, "lines", "at most \(Self.maximumLines) lines, got \(lines.count)")
        for (index, line) in lines.enumerated() {
            validation.require(
                Self.quantities.contains(line.quantity), "lines[\(index)].quantity",
                "\(Self.quantities.lowerBound) to \(Self.quantities.upperBound), got \(line.quantity)")
            validation.require(!line.sku.isEmpty && line.sku.utf8.count <= 64, "lines[\(index)].sku", "1 to 64 characters")
        }
        let skus = lines.map(\.sku)
        validation.require(Set(skus).count == skus.count, "lines", "each SKU at most once")
        try validation.check()
    }

    /// What makes two requests "the same body" for the idempotency check.
    public var fingerprint: String {
        lines.map { "\($0.sku)\u{1F}\($0.quantity)" }.joined(separator: "\u{1E}")
    }
}
