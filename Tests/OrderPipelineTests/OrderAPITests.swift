import EmporiumTestSupport
import Foundation
import Testing

/// The HTTP API's answers to bad input and to callers who may not see or do something: always a
/// problem document with a 4xx, and nothing changed.
@Suite("Order and product API", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct OrderAPITests {
    @Test("order validation: quantities, line count, SKUs, the Idempotency-Key and the body")
    func orderValidation() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("VAL")
        try await fleet.createProduct(sku, stock: 10)
        let customer = "c-\(UUID())"
        func post(_ body: NewOrderBody, key: String? = UUID().uuidString) async throws -> APIClient.Reply {
            try await fleet.api.send("POST", "/orders", as: .customer(customer), headers: key.map { ["Idempotency-Key": $0] } ?? [:], body: body)
        }
        for quantity in [0, 1001, -1] {
            let reply = try await post(NewOrderBody([(sku, quantity)]))
            #expect(reply.status == 422, "quantity \(quantity): \(reply.status)")
            #expect(reply.header("Content-Type") == "application/problem+json")
        }
        #expect(try await post(NewOrderBody([(sku, 1000)])).status == 201)
        let tooMany = try await post(NewOrderBody((0..<101).map { ("\(sku)-\($0)", 1) }))
        #expect(tooMany.status == 422)
        #expect(try await post(NewOrderBody([])).status == 422)

        let unknown = try await post(NewOrderBody([(sku, 1), ("NO-SUCH-1", 1), ("NO-SUCH-2", 2)]))
        #expect(unknown.status == 422)
        #expect(unknown.json["skus"] as? [String] == ["NO-SUCH-1", "NO-SUCH-2"])
        #expect(unknown.text.contains("NO-SUCH-1"))

        let noKey = try await post(NewOrderBody([(sku, 1)]), key: nil)
        #expect(noKey.status == 400)
        #expect((noKey.json["detail"] as? String)?.contains("Idempotency-Key") == true)
        let malformed = try await fleet.api.send(
            "POST", "/orders", as: .customer(customer), headers: ["Idempotency-Key": UUID().uuidString], raw: Data("{\"lines\": [".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.header("Content-Type") == "application/problem+json")
        let huge = try await fleet.api.send(
            "POST", "/orders", as: .customer(customer), headers: ["Idempotency-Key": UUID().uuidString],
            raw: Data(repeating: UInt8(ascii: " "), count: 512 * 1024))
        #expect(huge.status == 413)
        let anonymous = try await fleet.api.send("POST", "/orders", headers: ["Idempotency-Key": "x"], body: NewOrderBody([(sku, 1)]))
        #expect(anonymous.status == 401)
        // Only the one valid order exists; nothing else was written.
        #expect(try await fleet.count("SELECT count(*) FROM ordering.orders WHERE customer_id = \(customer)") == 1)
    }

    @Test("prices come from the catalog copy; deleted products cannot be ordered")
    func catalogCopyDrivesOrders() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("COPY")
        try await fleet.createProduct(sku, priceMinor: 500, stock: 10)
        let read = try await fleet.api.send("GET", "/products/\(sku)", as: .admin)
        let update = try await fleet.api.send(
            "PATCH", "/products/\(sku)", as: .admin, headers: ["If-Match": read.header("ETag") ?? ""], raw: Data(#"{"priceMinor": 750}"#.utf8))
        #expect(update.status == 200)
        #expect(update.json["version"] as? Int == 2)
        let repriced = try await eventually(timeout: .seconds(20)) {
            try await fleet.count("SELECT price_minor::integer FROM ordering.catalog WHERE sku = \(sku)") == 750
        }
        #expect(repriced)
        let customer = "c-\(UUID())"
        let order = try await fleet.placeOrder(customer, [(sku, 2)])
        #expect(order.totalMinor == 1500)

        #expect(try await fleet.api.send("DELETE", "/products/\(sku)", as: .admin).status == 204)
        // Product reads come from the replica: a little stale is allowed, so wait for it.
        let unlisted = try await eventually(timeout: .seconds(10)) { try await fleet.api.send("GET", "/products/\(sku)").status == 404 }
        #expect(unlisted)
        let gone = try await eventually(timeout: .seconds(20)) { try await !fleet.catalogCopyKnows(sku) }
        #expect(gone)
        let refused = try await fleet.api.send(
            "POST", "/orders", as: .customer(customer), headers: ["Idempotency-Key": UUID().uuidString], body: NewOrderBody([(sku, 1)]))
        #expect(refused.status == 422)
        #expect(refused.json["skus"] as? [String] == [sku])
    }

    @Test("customers see only their own orders (404 otherwise) and cannot reach admin routes (403)")
    func access() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("ACC")
        try await fleet.createProduct(sku, stock: 10)
        let owner = "c-\(UUID())"
        let other = "c-\(UUID())"
        let order = try await fleet.placeOrder(owner, [(sku, 1)])
        let path = "/orders/\(order.id.uuidString.lowercased())"
        // Cancel by the owner first, before the order's expiry (seconds away in this fleet) can win:
        // CANCELLED (customer), and the units come back. The checks below hold for any status.
        try await fleet.waitForOrder(order.id, owner) { $0.stock == "reserved" }
        let cancel = try await fleet.api.send("POST", path + "/cancel", as: .customer(owner))
        #expect(cancel.status == 200)
        #expect(cancel.json["cancelReason"] as? String == "customer")
        #expect(try await fleet.api.send("POST", path + "/cancel", as: .customer(owner)).status == 409)
        try await fleet.expectStock(sku, StockLevels(available: 10, reserved: 0, sold: 0))

        #expect(try await fleet.api.send("GET", path, as: .customer(owner)).status == 200)
        #expect(try await fleet.api.send("GET", path, as: .admin).status == 200)
        #expect(try await fleet.api.send("GET", path, as: .customer(other)).status == 404)
        #expect(try await fleet.api.send("POST", path + "/pay", as: .customer(other)).status == 404)
        #expect(try await fleet.api.send("POST", path + "/cancel", as: .customer(other)).status == 404)
        #expect(try await fleet.api.send("GET", "/orders/not-a-uuid", as: .customer(owner)).status == 404)
        let theirs = try await fleet.api.send("GET", "/orders", as: .customer(other))
        #expect((theirs.json["items"] as? [Any])?.isEmpty == true)

        let product = NewProductBody(sku: fleet.uniqueSKU("NOPE"), name: "x", priceMinor: 1, currency: "EUR", stock: 1)
        #expect(try await fleet.api.send("POST", "/products", as: .customer(owner), body: product).status == 403)
        #expect(try await fleet.api.send("POST", "/products", body: product).status == 401)
        #expect(try await fleet.api.send("DELETE", "/products/\(sku)", as: .customer(owner)).status == 403)
        #expect(try await fleet.api.send("PATCH", "/products/\(sku)", as: .customer(owner), raw: Data(#"{"stock":0}"#.utf8)).status == 403)
        let duplicate = NewProductBody(sku: sku, name: "again", priceMinor: 1, currency: "EUR", stock: 1)
        #expect(try await fleet.api.send("POST", "/products", as: .admin, body: duplicate).status == 409)

    }

    @Test("orders and products are listed in pages; products can be filtered")
    func pagination() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let prefix = "PAGE-\(UUID().uuidString.prefix(6))"
        for index in 0..<5 {
            let reply = try await fleet.api.send(
                "POST", "/products", as: .admin,
                body: NewProductBody(sku: "\(prefix)-\(index)", name: "Pager \(prefix) \(index)", priceMinor: 100 * (index + 1), currency: index < 3 ? "EUR" : "USD", stock: index))
            #expect(reply.status == 201)
        }
        // Products are read from the replica: they show up once it has replayed the writes.
        var seen: [String] = []
        let listed = try await eventually(timeout: .seconds(10), every: .milliseconds(50)) {
            seen = []
            var cursor: String?
            repeat {
                let query = "/products?q=\(prefix)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await fleet.api.send("GET", query)
                guard page.status == 200 else { return false }
                seen += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["sku"] as? String }
                cursor = page.json["nextCursor"] as? String
            } while cursor != nil
            return seen.count == 5
        }
        #expect(listed, "pages gave \(seen)")
        #expect(seen == (0..<5).map { "\(prefix)-\($0)" })
        let filtered = try await fleet.api.send("GET", "/products?q=\(prefix)&currency=EUR&minPrice=200&inStock=true")
        #expect((filtered.json["items"] as? [[String: Any]])?.compactMap { $0["sku"] as? String } == ["\(prefix)-1", "\(prefix)-2"])
        #expect(try await fleet.api.send("GET", "/products?limit=0").status == 400)
        #expect(try await fleet.api.send("GET", "/products?inStock=maybe").status == 400)

        let sku = fleet.uniqueSKU("PAGE-ORD")
        try await fleet.createProduct(sku, stock: 100)
        let customer = "c-\(UUID())"
        var placed: [UUID] = []
        for _ in 0..<5 { placed.append(try await fleet.placeOrder(customer, [(sku, 1)]).id) }
        var listedOrders: [String] = []
        var cursor: String?
        repeat {
            let page = try await fleet.api.send("GET", "/orders?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .customer(customer))
            #expect(page.status == 200)
            listedOrders += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = page.json["nextCursor"] as? String
        } while cursor != nil
        #expect(listedOrders.map { $0.lowercased() } == placed.reversed().map { $0.uuidString.lowercased() })
    }
}
