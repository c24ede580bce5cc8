public import Postgres

/// Where every unit of a SKU is, read in one statement: the stock columns, and the units the
/// reservations hold (`reserved`) and have sold. The chaos run's invariants and the scale-out
/// tests check stock conservation with it.
public struct StockBalance: Sendable, Hashable {
    public var sku: String
    public var available: Int
    public var reserved: Int
    public var sold: Int
    /// The lines of reservations in state `reserved`, and in state `sold`.
    public var held: Int
    public var soldLines: Int

    /// initial = available + reserved + sold, none negative, and the columns agree with the
    /// reservations (a reservation released twice would add units from nowhere).
    public func conserves(_ initial: Int) -> Bool {
        available + reserved + sold == initial && available >= 0 && reserved == held && sold == soldLines
    }

    public var description: String {
        "\(sku): available \(available) + reserved \(reserved) (reservations \(held)) + sold \(sold) (reservations \(soldLines))"
    }

    /// The balances of `skus` (those that have stock), by SKU. Run it in a repeatable-read
    /// transaction when other reads must see the same moment.
    public static func read(_ skus: [String], on connection: PostgresConnection) async throws -> [StockBalance] {
        try await connection.query("""
            SELECT s.sku, s.available, s.reserved, s.sold,
                COALESCE((SELECT sum(l.quantity) FROM catalog.reservation_lines l JOIN catalog.reservations r USING (order_id)
                          WHERE l.sku = s.sku AND r.status = 'reserved'), 0)::integer AS held,
                COALESCE((SELECT sum(l.quantity) FROM catalog.reservation_lines l JOIN catalog.reservations r USING (order_id)
                          WHERE l.sku = s.sku AND r.status = 'sold'), 0)::integer AS sold_lines
            FROM catalog.stock s WHERE s.sku = ANY(\(skus)::text[]) ORDER BY s.sku
            """).map { row in
            StockBalance(
                sku: try row.decode("sku"), available: try row.decode("available"), reserved: try row.decode("reserved"),
                sold: try row.decode("sold"), held: try row.decode("held"), soldLines: try row.decode("sold_lines"))
        }
    }
}
