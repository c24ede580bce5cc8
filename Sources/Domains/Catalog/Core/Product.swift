public import DomainKit
public import Foundation

/// A product as the API shows it.
public struct Product: Codable, Sendable, Hashable {
    public var sku: String
    public var name: String
    public var description: String
    public var priceMinor: Int64
    public var currency: String
    /// Units that can still be ordered.
    public var stock: Int
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        sku: String, name: String, description: String, priceMinor: Int64, currency: String, stock: Int, version: Int64, createdAt: Date,
        updatedAt: Date
    ) {
        self.sku = sku
        self.name = name
        self.description = description
        self.priceMinor = priceMinor
        self.currency = currency
        self.stock = stock
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// `POST /products`.
public struct NewProduct: Codable, Sendable {
    public var sku: String
    public var name: String
    public var description: String?
    public var priceMinor: Int64
    public var currency: String
    public var stock: Int

    public init(sku: String, name: String, description: String? = nil, priceMinor: Int64, currency: String, stock: Int) {
        self.sku = sku
        self.name = name
        self.description = description
        self.priceMinor = priceMinor
        self.currency = currency
        self.stock = stock
    }

    /// Every field problem at once, so a client fixes them in one go.
    public func validate() throws(DomainError) {
        var validation = Validation()
        ProductRules.sku(sku, &validation)
        ProductRules.name(name, &validation)
        ProductRules.description(description, &validation)
        ProductRules.price(priceMinor, &validation)
        ProductRules.currency(currency, &validation)
        ProductRules.stock(stock, &validation)
        try validation.check()
    }
}

/// `PATCH /products/{sku}`: the fields present are changed; `stock` sets the units available.
public struct ProductChanges: Codable, Sendable {
    public var name: String?
    public var description: String?
    public var priceMinor: Int64?
    public var currency: String?
    public var stock: Int?

    public init(name: String? = nil, description: String? = nil, priceMinor: Int64? = nil, currency: String? = nil, stock: Int? = nil) {
        self.name = name
        self.description = description
        self.priceMinor = priceMinor
        self.currency = currency
        self.stock = stock
    }

    public func validate() throws(DomainError) {
        var validation = Validation()
        if let name { ProductRules.name(name, &validation) }
        ProductRules.description(description, &validation)
        if let priceMinor { ProductRules.price(priceMinor, &validation) }
        if let currency { ProductRules.currency(currency, &validation) }
        if let stock { ProductRules.stock(stock, &validation) }
        validation.require(
            name != nil || description != nil || priceMinor != nil || currency != nil || stock != nil, "nothing to change",
            "give at least one of name, description, priceMinor, currency, stock")
        try validation.check()
    }
}

/// The field rules, matching the table's checks so that a bad value is a 422, never a 500.
public enum ProductRules {
    static func sku(_ sku: String, _ validation: inout Validation) {
        let allowed = sku.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        validation.require(
            (1...64).contains(sku.utf8.count) && allowed && sku.utf8.first?.isASCIIAlphanumeric == true, "sku",
            "1 to 64 characters, letters, digits, '.', '_' or '-', starting with a letter or digit")
    }

    static func name(_ name: String, _ validation: inout Validation) {
        validation.require((1...200).contains(name.unicodeScalars.count) && !name.allSatisfy(\.isWhitespace), "name", "1 to 200 characters")
    }

    static func description(_ description: String?, _ validation: inout Validation) {
        validation.require((description?.unicodeScalars.count ?? 0) <= 5_000, "description", "at most 5000 characters")
    }

    static func price(_ price: Int64, _ validation: inout Validation) {
        validation.require((0...1_000_000_000_00).contains(price), "priceMinor", "0 to 100000000000 (minor units)")
    }

    static func currency(_ currency: String, _ validation: inout Validation) {
        validation.require(isCurrency(currency), "currency", "an ISO 4217 code of three capital letters")
    }

    /// Three capital letters.
    public static func isCurrency(_ text: String) -> Bool {
        text.utf8.count == 3 && text.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
    }

    static func stock(_ stock: Int, _ validation: inout Validation) {
        validation.require((0...1_000_000_000).contains(stock), "stock", "0 to 1000000000")
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// What a client saw of a product: its version (bumped by every change of its fields) and its
/// available stock (which orders move without a version). A change based on what a client saw
/// is refused once either has moved on, so an admin's stock figure computed from a stale read
/// cannot erase the reservations made meanwhile. The HTTP API sends it as the `ETag`.
public struct ProductTag: Sendable, Hashable, CustomStringConvertible {
    public var version: Int64
    public var available: Int

    public init(version: Int64, available: Int) {
        self.version = version
        self.available = available
    }

    public init(_ product: Product) {
        self.init(version: product.version, available: product.stock)
    }

    /// `<version>-<available>`.
    public var description: String { "\(version)-\(available)" }

    /// The text `description` writes, or nil.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let version = Int64(parts[0]), let available = Int(parts[1]) else { return nil }
        self.init(version: version, available: available)
    }
}

extension ProductRules {
    /// A change made on the strength of `expected` (any of them; none listed means "whatever is
    /// current") applies only while the product is still `current`.
    public static func checkUnchanged(current: ProductTag, expected: [ProductTag]?) throws(DomainError) {
        guard let expected, !expected.contains(current) else { return }
        throw DomainError(
            .stale, "The product changed since it was read (it is now at \(current)); read it again and decide on the new figures.",
            details: ["etag": .string(current.description)])
    }
}

/// `POST /products/{sku}/stock-adjustments`: units added to (or, negative, taken from) the
/// available stock, whatever it is now; needs no version, since it commutes with orders.
public struct StockAdjustment: Codable, Sendable {
    public var delta: Int
    public var reason: String?

    public init(delta: Int, reason: String? = nil) {
        self.delta = delta
        self.reason = reason
    }

    public func validate() throws(DomainError) {
        var validation = Validation()
        validation.require(delta != 0 && abs(delta) <= 1_000_000_000, "delta", "a non-zero number of units, at most 1000000000 either way")
        validation.require((reason?.unicodeScalars.count ?? 0) <= 500, "reason", "at most 500 characters")
        try validation.check()
    }
}
