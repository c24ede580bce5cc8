import EmporiumTestSupport
import Foundation
import Testing

/// Issue 18's attack suite, for what is not an account attack (those are in "Accounts and
/// tokens"): each test does what an attacker or a careless client would, against the fleet.
@Suite("Abuse of the catalog and orders", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct AbuseTests {
    @Test("an admin's stock figure from a stale read cannot erase a reservation made meanwhile; adjustments are relative")
    func staleStockWrite() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        let sku = fleet.uniqueSKU("STALE")
        try await fleet.createProduct(sku, stock: 10)
        let read = try await api.send("GET", "/products/\(sku)", as: .admin)
        #expect(read.header("ETag") != nil, "GET /products/{sku} sends no ETag")
        let seen = read.header("ETag") ?? "\"1-10\""

        // A customer reserves 4 after the admin's read...
        let customer = "c-\(UUID())"
        _ = try await fleet.placeOrder(customer, [(sku, 4)])
        try await fleet.expectStock(sku, StockLevels(available: 6, reserved: 4, sold: 0))
        // ...and the admin, meaning "10 on the shelf, plus 5 delivered", writes 15 on that read.
        let stale = try await api.send("PATCH", "/products/\(sku)", as: .admin, headers: ["If-Match": seen], body: ["stock": 15])
        #expect(stale.status == 412, "\(stale.status) \(stale.text)")
        #expect(stale.header("Content-Type")?.hasPrefix("application/problem+json") == true)
        #expect(try await fleet.stock(sku) == StockLevels(available: 6, reserved: 4, sold: 0))

        let unconditional = try await api.send("PATCH", "/products/\(sku)", as: .admin, body: ["stock": 15])
        #expect(unconditional.status == 428, "\(unconditional.status) \(unconditional.text)")
        let weak = try await api.send("PATCH", "/products/\(sku)", as: .admin, headers: ["If-Match": "W/\(seen)"], body: ["stock": 15])
        #expect(weak.status == 412, "a weak tag matches nothing: \(weak.status)")

        // The five delivered units, added whatever the stock is now.
        let adjusted = try await api.send("POST", "/products/\(sku)/stock-adjustments", as: .admin, body: ["delta": 5])
        #expect(adjusted.status == 200, "\(adjusted.status) \(adjusted.text)")
        #expect(adjusted.json["stock"] as? Int == 11)
        #expect(try await fleet.stock(sku) == StockLevels(available: 11, reserved: 4, sold: 0))
        let tooMany = try await api.send("POST", "/products/\(sku)/stock-adjustments", as: .admin, body: ["delta": -12])
        #expect(tooMany.status == 409, "\(tooMany.status) \(tooMany.text)")
        #expect(try await api.send("POST", "/products/\(sku)/stock-adjustments", as: .admin, body: ["delta": 0]).status == 422)
        #expect(try await api.send("POST", "/products/\(sku)/stock-adjustments", as: .customer(customer), body: ["delta": 1]).status == 403)
        #expect(try await fleet.stock(sku) == StockLevels(available: 11, reserved: 4, sold: 0))

        // With the current tag (or `*`), a change goes through and sends the next tag.
        let current = try #require(adjusted.header("ETag"))
        let renamed = try await api.send("PATCH", "/products/\(sku)", as: .admin, headers: ["If-Match": current], body: ["name": "Renamed"])
        #expect(renamed.status == 200, "\(renamed.status) \(renamed.text)")
        #expect(renamed.header("ETag") != nil && renamed.header("ETag") != current)
        let anyVersion = try await api.send("PATCH", "/products/\(sku)", as: .admin, headers: ["If-Match": "*"], body: ["stock": 20])
        #expect(anyVersion.status == 200)
        #expect(try await fleet.stock(sku) == StockLevels(available: 20, reserved: 4, sold: 0))
    }
}
