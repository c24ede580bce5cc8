/// `GET /products` filters and page.
public struct ProductQuery: Sendable {
    /// Case-insensitive substring of the name or SKU.
    public var search: String?
    public var currency: String?
    public var minimumPrice: Int64?
    public var maximumPrice: Int64?
    public var inStockOnly = false
    public var limit = 20
    /// The last SKU of the previous page.
    public var after: String?

    public init() {}
}
