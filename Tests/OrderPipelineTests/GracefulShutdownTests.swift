import EmporiumTestSupport
import Foundation
import Postgres
import Synchronization
import Testing

/// SIGTERM to a worker in the middle of work: it stops taking messages, finishes what it holds,
/// commits, and exits; nothing is lost or done twice. Alone among the suites that need the
/// product workers, since a worker joining and leaving holds up the group's partitions.
@Suite("Graceful shutdown", .usesRabbitMQ, .rebalancesProductWorkers, .timeLimit(.minutes(10)))
struct GracefulShutdownTests {
    @Test("a product worker stopped with SIGTERM mid-burst drains and exits; every order is decided exactly once")
    func sigtermMidBurst() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("DRAIN")
        try await fleet.createProduct(sku, stock: 100_000)
        // A fourth product worker joins the group for this test, takes partitions, and is stopped.
        let log = fleet.logDirectory.appendingPathComponent("worker-product-drain.log")
        let worker = try #require(fleet.spawn("worker-product-drain", ["worker", "product"]))
        let joined = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("kafka partitions assigned")
        }
        try #require(joined, "the extra worker never got partitions")

        let placed = PlacedOrders()
        let stopped = Task {
            // SIGTERM once a third of the burst is in, while orders keep coming.
            while placed.count.load(ordering: .relaxed) < 100 { try await Task.sleep(for: .milliseconds(20)) }
            worker.signal(SIGTERM)
            return try await worker.wait(timeout: .seconds(45))
        }
        let orders = try await withThrowingTaskGroup(of: [UUID].self) { group in
            for client in 0..<10 {
                group.addTask {
                    let customer = "drain-\(client)-\(UUID())"
                    var ids: [UUID] = []
                    for _ in 0..<30 {
                        ids.append(try await fleet.placeOrder(customer, [(sku, 1)]).id)
                        placed.count.add(1, ordering: .relaxed)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let status = try await stopped.value
        #expect(status == 0, "the worker's exit status after SIGTERM: \(status)")
        #expect(orders.count == 300)

        let ids = orders.map { $0.uuidString.lowercased() }
        let decided = try await eventually(timeout: .seconds(90), every: .milliseconds(250)) {
            try await fleet.count("""
                SELECT count(DISTINCT message_key) FROM messaging.outbox
                WHERE message_type IN ('stock.reserved', 'stock.rejected') AND message_key = ANY(\(ids)::text[])
                """) == 300
        }
        #expect(decided, "not every order got its stock decision")
        // Exactly once: one decision per order, one inbox record per order.created, one reservation each.
        #expect(try await fleet.count("""
            SELECT count(*) FROM messaging.outbox
            WHERE message_type IN ('stock.reserved', 'stock.rejected') AND message_key = ANY(\(ids)::text[])
            """) == 300)
        #expect(try await fleet.count("""
            SELECT count(*) FROM messaging.inbox i JOIN messaging.outbox o ON o.message_id = i.message_id
            WHERE i.consumer = 'worker-product' AND o.message_type = 'order.created' AND o.message_key = ANY(\(ids)::text[])
            """) == 300)
        #expect(try await fleet.count(
            "SELECT count(*) FROM catalog.reservations WHERE order_id::text = ANY(\(ids)::text[])") == 300)
        let drained = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(drained.contains("kafka partitions revoked"), "the stopped worker did not give its partitions back")
        #expect(!drained.contains(" error emporium"), "the stopped worker logged errors:\n\(drained.suffix(2000))")
    }
}

/// How many orders a burst has placed so far, shared by its clients.
final class PlacedOrders: Sendable {
    let count = Atomic<Int>(0)
}
