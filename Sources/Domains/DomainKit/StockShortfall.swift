/// A line the stock could not cover: what was asked and what there was. The catalog decides it
/// and the order side shows it to the customer, so both cores speak of it the same way.
public struct StockShortfall: Sendable, Hashable {
    public var sku: String
    public var requested: Int
    public var available: Int

    public init(sku: String, requested: Int, available: Int) {
        self.sku = sku
        self.requested = requested
        self.available = available
    }
}
