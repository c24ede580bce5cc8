import Catalog
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
        let balances = try await fleet.database.withTransaction(isolation: .repeatableRead) { connection in
            try await StockBalance.read(skus, on: connection)
        }
        let found = balances.filter { !$0.conserves(initial) }.map { "\($0.description) != \(initial)" }
        return violations.withLock { $0 } + found
    }
}
