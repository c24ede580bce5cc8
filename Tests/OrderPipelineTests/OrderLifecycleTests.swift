import EmporiumTestSupport
import Foundation
import Testing

/// The order's lifecycle through the real fleet: separate api, relay and worker processes on
/// PostgreSQL (primary and replica), Redis, RabbitMQ and a Kafka mock cluster, with reminders at
/// 1, 2 and 3 s and the expiry at 20 s.
@Suite("Order lifecycle, end to end", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct OrderLifecycleTests {
    @Test("reserve, pay, complete: the units end sold, each step recorded with its cause")
    func reservePayComplete() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("RPC")
        try await fleet.createProduct(sku, priceMinor: 1999, stock: 10)
        let customer = "c-\(UUID())"
        let traceID = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let correlation = "rpc-\(UUID())"
        let order = try await fleet.placeOrder(
            customer, [(sku, 3)], headers: ["traceparent": "00-\(traceID)-b7ad6b7169203331-01", "X-Correlation-Id": correlation])
        #expect(order.status == "PENDING")
        #expect(order.totalMinor == 5997)

        try await fleet.waitForOrder(order.id, customer) { $0.stock == "reserved" }
        #expect(try await fleet.stock(sku) == StockLevels(available: 7, reserved: 3, sold: 0))
        let paid = try await fleet.api.send("POST", "/orders/\(order.id)/pay", as: .customer(customer))
        #expect(paid.status == 200, "\(paid.text)")
        #expect(paid.json["status"] as? String == "PAID")
        let again = try await fleet.api.send("POST", "/orders/\(order.id)/pay", as: .customer(customer))
        #expect(again.status == 409)
        #expect(again.header("Content-Type") == "application/problem+json")

        try await fleet.waitForOrder(order.id, customer, timeout: PipelineFleet.expiry + .seconds(20)) { $0.status == "COMPLETED" }
        try await fleet.expectStock(sku, StockLevels(available: 7, reserved: 0, sold: 3))
        let history = try await fleet.history(order.id)
        #expect(history.map(\.0) == ["PENDING", "PAID", "COMPLETED"])
        #expect(history.map(\.1) == ["request", "request", "message"])
        let mailed = try await eventually(timeout: .seconds(10)) {
            Set(fleet.mail.templates(for: order.id)).isSuperset(of: ["order_confirmation", "payment_received"])
        }
        #expect(mailed, "mails: \(fleet.mail.templates(for: order.id))")
        #expect(!fleet.mail.templates(for: order.id).contains("order_cancelled"))

        // One trace from the request through both brokers: stock.reserved was written by the
        // product worker after order.created crossed Kafka; order.completed by the order worker
        // after the delayed expiry crossed RabbitMQ. Every hop a span of its own.
        let rows = try await fleet.database.query("""
            SELECT message_type, traceparent FROM messaging.outbox WHERE correlation_id = \(correlation) ORDER BY id
            """).map { (try $0.decode("message_type", as: String.self), try $0.decode("traceparent", as: String.self)) }
        let types = Set(rows.map(\.0))
        #expect(types.isSuperset(of: ["order.created", "stock.reserved", "order.expiry-due", "order.completed"]), "\(types)")
        #expect(rows.allSatisfy { $0.1.hasPrefix("00-\(traceID)-") }, "\(rows)")
        #expect(Set(rows.map { $0.1 }).count == rows.count, "a span id repeats: \(rows)")
    }

    @Test("an unpaid order gets exactly three reminders, then expires and its stock comes back")
    func unpaidOrderExpires() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("EXP")
        try await fleet.createProduct(sku, stock: 5)
        let customer = "c-\(UUID())"
        let order = try await fleet.placeOrder(customer, [(sku, 2)])
        try await fleet.waitForOrder(order.id, customer) { $0.stock == "reserved" }
        #expect(try await fleet.stock(sku) == StockLevels(available: 3, reserved: 2, sold: 0))

        let expired = try await fleet.waitForOrder(order.id, customer, timeout: PipelineFleet.expiry + .seconds(20)) { $0.status == "CANCELLED" }
        #expect(expired.cancelReason == "expired")
        try await fleet.expectStock(sku, StockLevels(available: 5, reserved: 0, sold: 0))
        let mailed = try await eventually(timeout: .seconds(10)) { fleet.mail.templates(for: order.id).contains("order_cancelled") }
        #expect(mailed)
        // No fourth reminder can come: the expiry's transaction cancelled the order, and a
        // reminder that reaches a cancelled order mails nothing. So the reminder commands in the
        // outbox now are all there will be; the mails are those commands, once each.
        let commanded = try await fleet.count("""
            SELECT count(*) FROM messaging.outbox
            WHERE message_type = 'mail.send' AND message_key = \(order.id)::text AND body->>'template' = 'payment_reminder'
            """)
        #expect(commanded == 3)
        func reminders() -> [String] {
            fleet.mail.mails(for: order.id).filter { $0.template.rawValue == "payment_reminder" }.map { $0.data["reminder"] ?? "?" }
        }
        #expect(try await eventually(timeout: .seconds(10)) { reminders().count >= 3 })
        #expect(reminders() == ["1", "2", "3"])
        #expect(try await fleet.history(order.id).map(\.0) == ["PENDING", "CANCELLED"])
    }

    @Test("an order larger than the stock is cancelled as out of stock with nothing reserved")
    func outOfStock() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let plenty = fleet.uniqueSKU("OOS-A")
        let scarce = fleet.uniqueSKU("OOS-B")
        try await fleet.createProduct(plenty, stock: 100)
        try await fleet.createProduct(scarce, stock: 2)
        let customer = "c-\(UUID())"
        let order = try await fleet.placeOrder(customer, [(plenty, 1), (scarce, 5)])
        let cancelled = try await fleet.waitForOrder(order.id, customer) { $0.status == "CANCELLED" }
        #expect(cancelled.cancelReason == "out_of_stock")
        #expect(cancelled.stock == "rejected")
        #expect(try await fleet.stock(plenty) == StockLevels(available: 100, reserved: 0, sold: 0))
        #expect(try await fleet.stock(scarce) == StockLevels(available: 2, reserved: 0, sold: 0))
        #expect(try await fleet.count("SELECT count(*) FROM catalog.reservation_lines WHERE order_id = \(order.id)") == 0)
        let mailed = try await eventually(timeout: .seconds(10)) { fleet.mail.templates(for: order.id).contains("out_of_stock") }
        #expect(mailed)
        let shortages = fleet.mail.mails(for: order.id).first { $0.template.rawValue == "out_of_stock" }?.data["shortages"]
        #expect(shortages == "\(scarce): 5 requested, 2 available")
        // Stays cancelled: the expiry finds nothing to do, and paying is refused.
        let pay = try await fleet.api.send("POST", "/orders/\(order.id)/pay", as: .customer(customer))
        #expect(pay.status == 409)
    }

    @Test("pay racing the expiry, 100 times: exactly one of them wins every time")
    func payRacesExpiry() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("RACE")
        try await fleet.createProduct(sku, stock: 1000)
        let expiry = Double(PipelineFleet.expiry.components.seconds)
        let outcomes = try await withThrowingTaskGroup(of: (UUID, String, Int).self) { group in
            for index in 0..<100 {
                group.addTask {
                    let customer = "race-\(index)-\(UUID())"
                    let order = try await fleet.placeOrder(customer, [(sku, 1)])
                    try await fleet.waitForOrder(order.id, customer) { $0.stock == "reserved" }
                    // Aim the payment at the expiry, spread over 600 ms around it.
                    let aim = order.createdAt.addingTimeInterval(expiry + Double(index % 25) * 0.025 - 0.3)
                    let wait = aim.timeIntervalSinceNow
                    if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                    let reply = try await fleet.api.send("POST", "/orders/\(order.id)/pay", as: .customer(customer))
                    return (order.id, customer, reply.status)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var paidWins = 0
        for (id, customer, status) in outcomes {
            #expect(status == 200 || status == 409, "pay answered \(status)")
            let final = try await fleet.waitForOrder(id, customer, timeout: PipelineFleet.expiry + .seconds(20)) { $0.status == "COMPLETED" || $0.status == "CANCELLED" }
            if status == 200 {
                paidWins += 1
                #expect(final.status == "COMPLETED", "paid, yet \(final.status)")
            } else {
                #expect(final.status == "CANCELLED" && final.cancelReason == "expired", "pay refused, yet \(final.status)")
            }
            let transitions = try await fleet.history(id).map(\.0)
            #expect(transitions == (status == 200 ? ["PENDING", "PAID", "COMPLETED"] : ["PENDING", "CANCELLED"]))
        }
        try await fleet.expectStock(sku, StockLevels(available: 1000 - paidWins, reserved: 0, sold: paidWins))
        print("pay vs expiry: payment won \(paidWins) of 100 races, the expiry \(100 - paidWins)")
    }
}
