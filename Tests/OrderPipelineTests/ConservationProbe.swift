import Foundation
import Postgres
import Synchronization

/// Checks, in one snapshot of the database, that every unit of a SKU is accounted for:
/// initial = available + reserved for live orders + sold, where "reserved" and "sold" are
/// both the stock columns and the sum of the reservations in that state.
final class ConservationProbe: Sendable {
    let fleet: PipelineFleet
    let skus: [String]
    let initial: Int
    let snapshots = Atomic<Int>(0)
    private let violations = Mutex<[String]>([])

    init(fleet: PipelineFleet, skus: [String], initial: Int) {
        self.fleet = fleet
        self.skus = skus
        self.initial = initial
    }

    func watch() async throws {
        while !Task.isCancelled {
            let found = try await check()
            violations.withLock { $0 += found }
            snapshots.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// The violations seen so far plus those of a fresh snapshot.
    func check() async throws -> [String] {
        let rows = try await fleet.database.withTransaction(isolation: .repeatableRead) { connection in
            try await connection.query("""
                SELECT s.sku, s.available, s.reserved, s.sold,
                    COALESCE((SELECT sum(l.quantity) FROM catalog.reservation_lines l JOIN catalog.reservations r USING (order_id)
                              WHERE l.sku = s.sku AND r.status = 'reserved'), 0)::integer AS held,
                    COALESCE((SELECT sum(l.quantity) FROM catalog.reservation_lines l JOIN catalog.reservations r USING (order_id)
                              WHERE l.sku = s.sku AND r.status = 'sold'), 0)::integer AS sold_lines
                FROM catalog.stock s WHERE s.sku = ANY(\(skus)::text[])
                """)
        }
        var found: [String] = []
        for row in rows {
            let sku: String = try row.decode("sku")
            let available: Int = try row.decode("available")
            let reserved: Int = try row.decode("reserved")
            let sold: Int = try row.decode("sold")
            let held: Int = try row.decode("held")
            let soldLines: Int = try row.decode("sold_lines")
            if available + reserved + sold != initial || reserved != held || sold != soldLines || available < 0 {
                found.append("\(sku): available \(available) + reserved \(reserved) (held by reservations \(held)) + sold \(sold) (\(soldLines)) != \(initial)")
            }
        }
        return violations.withLock { $0 } + found
    }
}
