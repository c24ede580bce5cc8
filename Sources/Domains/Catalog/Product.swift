public import Contracts
public import Foundation
import HTTPRuntime

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

    public var snapshot: ProductSnapshot {
        ProductSnapshot(sku: sku, name: name, description: description, priceMinor: priceMinor, currency: currency, version: version)
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
    func validationErrors() -> [String] {
        var errors = ProductRules.sku(sku)
        errors += ProductRules.name(name)
        errors += ProductRules.description(description)
        errors += ProductRules.price(priceMinor)
        errors += ProductRules.currency(currency)
        errors += ProductRules.stock(stock)
        return errors
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

    func validationErrors() -> [String] {
        var errors: [String] = []
        if let name { errors += ProductRules.name(name) }
        errors += ProductRules.description(description)
        if let priceMinor { errors += ProductRules.price(priceMinor) }
        if let currency { errors += ProductRules.currency(currency) }
        if let stock { errors += ProductRules.stock(stock) }
        if name == nil && description == nil && priceMinor == nil && currency == nil && stock == nil {
            errors.append("nothing to change: give at least one of name, description, priceMinor, currency, stock")
        }
        return errors
    }
}

/// The field rules, matching the table's checks so that a bad value is a 422, never a 500.
enum ProductRules {
    static func sku(_ sku: String) -> [String] {
        let allowed = sku.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        guard (1...64).contains(sku.utf8.count), allowed, sku.utf8.first?.isASCIIAlphanumeric == true else {
            return ["sku: 1 to 64 characters, letters, digits, '.', '_' or '-', starting with a letter or digit"]
        }
        return []
    }

    static func name(_ name: String) -> [String] {
        (1...200).contains(name.unicodeScalars.count) && !name.allSatisfy(\.isWhitespace) ? [] : ["name: 1 to 200 characters"]
    }

    static func description(_ description: String?) -> [String] {
        (description?.unicodeScalars.count ?? 0) <= 5_000 ? [] : ["description: at most 5000 characters"]
    }

    static func price(_ price: Int64) -> [String] {
        (0...1_000_000_000_00).contains(price) ? [] : ["priceMinor: 0 to 100000000000 (minor units)"]
    }

    static func currency(_ currency: String) -> [String] {
        currency.utf8.count == 3 && currency.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
            ? [] : ["currency: an ISO 4217 code of three capital letters"]
    }

    static func stock(_ stock: Int) -> [String] {
        (0...1_000_000_000).contains(stock) ? [] : ["stock: 0 to 1000000000"]
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
