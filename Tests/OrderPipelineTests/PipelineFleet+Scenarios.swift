import EmporiumTestSupport
import Foundation
import Postgres
import Testing

/// Stock of one SKU as the catalog holds it.
struct StockLevels: Equatable, CustomStringConvertible {
    var available: Int
    var reserved: Int
    var sold: Int
    var description: String { "available \(available), reserved \(reserved), sold \(sold)" }
}

extension PipelineFleet {
    var api: APIClient { APIClient(baseURL: apiURL) }

    func uniqueSKU(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

    /// Creates a product and waits until the order side's catalog copy has it.
    func createProduct(_ sku: String, priceMinor: Int = 1000, stock: Int) async throws {
        let reply = try await api.send(
            "POST", "/products", as: .admin, body: NewProductBody(sku: sku, name: "Product \(sku)", priceMinor: priceMinor, currency: "EUR", stock: stock))
        try #require(reply.status == 201, "POST /products: \(reply.status) \(reply.text)")
        let copied = try await eventually(timeout: .seconds(30), every: .milliseconds(50)) { try await self.catalogCopyKnows(sku) }
        try #require(copied, "the order worker never copied \(sku)")
    }

    /// Places an order and expects 201.
    func placeOrder(
        _ customer: String, _ lines: [(String, Int)], key: String = UUID().uuidString, headers: [String: String] = [:]
    ) async throws -> OrderReply {
        let reply = try await api.send(
            "POST", "/orders", as: .customer(customer), headers: headers.merging(["Idempotency-Key": key]) { $1 }, body: NewOrderBody(lines))
        try #require(reply.status == 201, "POST /orders: \(reply.status) \(reply.text)")
        return try reply.decode(OrderReply.self)
    }

    /// Polls `GET /orders/{id}` until `condition` holds; fails the test if it never does.
    @discardableResult
    func waitForOrder(
        _ id: UUID, _ customer: String, timeout: Duration = .seconds(30), _ condition: @escaping @Sendable (OrderReply) -> Bool
    ) async throws -> OrderReply {
        let deadline = ContinuousClock.now + timeout
        var last: OrderReply?
        while ContinuousClock.now < deadline {
            let reply = try await api.send("GET", "/orders/\(id.uuidString.lowercased())", as: .customer(customer))
            if reply.status == 200 {
                let order = try reply.decode(OrderReply.self)
                if condition(order) { return order }
                last = order
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("order \(id) never reached the expected state; last seen \(String(describing: last)); logs in \(logDirectory.path)")
        throw FleetFailure(description: "order \(id) timed out")
    }

    func stock(_ sku: String) async throws -> StockLevels {
        let row = try await database.query("SELECT available, reserved, sold FROM catalog.stock WHERE sku = \(sku)").single()
        return StockLevels(available: try row.decode("available"), reserved: try row.decode("reserved"), sold: try row.decode("sold"))
    }

    /// Waits until the SKU's stock is `expected` (the product worker applies events a little later).
    func expectStock(_ sku: String, _ expected: StockLevels, timeout: Duration = .seconds(20)) async throws {
        let reached = try await eventually(timeout: timeout, every: .milliseconds(50)) { try await self.stock(sku) == expected }
        let actual = try await stock(sku)
        #expect(reached, "stock of \(sku): \(actual), expected \(expected)")
    }

    /// The order's transitions: (to status, cause kind).
    func history(_ id: UUID) async throws -> [(String, String)] {
        try await database.query("""
            SELECT to_status, cause_kind FROM ordering.status_history WHERE order_id = \(id) ORDER BY id
            """).map { (try $0.decode("to_status"), try $0.decode("cause_kind")) }
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query).single().decode(at: 0)
    }
}
