public import Foundation
public import Messaging

/// A product as the catalog publishes it. `version` grows with every change, so a consumer can
/// ignore an event older than what it has (a replay, a redelivery).
public struct ProductSnapshot: Codable, Sendable, Hashable {
    public var sku: String
    public var name: String
    public var description: String
    public var priceMinor: Int64
    public var currency: String
    public var version: Int64

    public init(sku: String, name: String, description: String, priceMinor: Int64, currency: String, version: Int64) {
        self.sku = sku
        self.name = name
        self.description = description
        self.priceMinor = priceMinor
        self.currency = currency
        self.version = version
    }
}

/// `product.created` on the product topic, keyed by SKU.
public struct ProductCreated: MessagePayload, Hashable {
    public static let messageType = "product.created"
    public var product: ProductSnapshot
    public init(product: ProductSnapshot) { self.product = product }
}

/// `product.updated` on the product topic, keyed by SKU.
public struct ProductUpdated: MessagePayload, Hashable {
    public static let messageType = "product.updated"
    public var product: ProductSnapshot
    public init(product: ProductSnapshot) { self.product = product }
}

/// `product.deleted` on the product topic, keyed by SKU.
public struct ProductDeleted: MessagePayload, Hashable {
    public static let messageType = "product.deleted"
    public var sku: String
    public var version: Int64
    public init(sku: String, version: Int64) {
        self.sku = sku
        self.version = version
    }
}

/// One line of a reservation: a SKU and how many.
public struct StockLine: Codable, Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    public init(sku: String, quantity: Int) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// `stock.reserved` on the order topic, keyed by order id: every line is held for the order.
public struct StockReserved: MessagePayload, Hashable {
    public static let messageType = "stock.reserved"
    public var orderID: UUID
    public var lines: [StockLine]
    public init(orderID: UUID, lines: [StockLine]) {
        self.orderID = orderID
        self.lines = lines
    }
}

/// What a SKU lacked when an order was rejected.
public struct StockShortage: Codable, Sendable, Hashable {
    public var sku: String
    public var requested: Int
    public var available: Int
    public init(sku: String, requested: Int, available: Int) {
        self.sku = sku
        self.requested = requested
        self.available = available
    }
}

/// `stock.rejected` on the order topic, keyed by order id: nothing was reserved.
public struct StockRejected: MessagePayload, Hashable {
    public static let messageType = "stock.rejected"
    public var orderID: UUID
    public var shortages: [StockShortage]
    public init(orderID: UUID, shortages: [StockShortage]) {
        self.orderID = orderID
        self.shortages = shortages
    }
}
