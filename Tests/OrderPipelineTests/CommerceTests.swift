import EmporiumTestSupport
import Foundation
import Ordering
import Postgres
import Testing

/// Carts, the notification feed and admin order management, against the fleet.
@Suite("Cart, notifications, admin orders", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct CommerceTests {
    struct CartReply: Decodable {
        struct Line: Decodable {
            struct Rejected: Decodable { var requested: Int; var available: Int }
            var sku: String
            var quantity: Int
            var unitPriceMinor: Int
            var lineTotalMinor: Int
            var deleted: Bool
            var repriced: Bool
            var rejected: Rejected?
        }
        var status: String
        var lines: [Line]
        var totalMinor: Int?
    }

    struct FeedReply: Decodable {
        struct Item: Decodable {
            struct Delivery: Decodable { var state: String; var attempts: Int; var lastError: String? }
            var id: UUID
            var kind: String
            var title: String
            var orderId: UUID?
            var orderStatus: String?
            var read: Bool
            var delivery: Delivery?
        }
        var items: [Item]
        var unread: Int
        var nextCursor: String?
    }

    @Test("add merges, patch and delete change lines, checkout makes one order (twice with one key), and the reserved cart empties")
    func cartToOrder() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let (tea, pot) = (fleet.uniqueSKU("CART-TEA"), fleet.uniqueSKU("CART-POT"))
        try await fleet.createProduct(tea, priceMinor: 500, stock: 20)
        try await fleet.createProduct(pot, priceMinor: 3000, stock: 5)
        let me = APIClient.Identity.customer("cart-\(UUID())")
        let api = fleet.api

        #expect(try await api.send("POST", "/cart/items", as: me, body: ["sku": tea, "quantity": "x"]).status == 400)
        #expect(try await api.send("POST", "/cart/items", as: me, body: CartItem(sku: "NOPE-\(UUID())", quantity: 1)).status == 422)
        _ = try await api.send("POST", "/cart/items", as: me, body: CartItem(sku: tea, quantity: 2))
        var cart = try await api.send("POST", "/cart/items", as: me, body: CartItem(sku: tea, quantity: 3)).decode(CartReply.self)
        #expect(cart.lines.map(\.quantity) == [5], "adding an existing SKU adds to its quantity")
        cart = try await api.send("POST", "/cart/items", as: me, body: CartItem(sku: pot, quantity: 1)).decode(CartReply.self)
        cart = try await api.send("PATCH", "/cart/items/\(pot)", as: me, body: ["quantity": 2]).decode(CartReply.self)
        #expect(cart.lines.first { $0.sku == pot }?.quantity == 2)
        #expect(cart.totalMinor == 5 * 500 + 2 * 3000)
        cart = try await api.send("PATCH", "/cart/items/\(pot)", as: me, body: ["quantity": 0]).decode(CartReply.self)
        #expect(cart.lines.map(\.sku) == [tea], "quantity 0 removes the line")
        _ = try await api.send("POST", "/cart/items", as: me, body: CartItem(sku: pot, quantity: 1))
        cart = try await api.send("DELETE", "/cart/items/\(pot)", as: me).decode(CartReply.self)
        #expect(cart.lines.map(\.sku) == [tea])
        #expect(try await api.send("DELETE", "/cart/items/\(pot)", as: me).status == 404)

        // Another customer has a cart of their own: this one is neither visible nor changeable to them.
        let stranger = APIClient.Identity.customer("stranger-\(UUID())")
        #expect(try await api.send("GET", "/cart", as: stranger).decode(CartReply.self).lines.isEmpty)
        #expect(try await api.send("PATCH", "/cart/items/\(tea)", as: stranger, body: ["quantity": 1]).status == 404)
        #expect(try await api.send("GET", "/cart").status == 401)

        #expect(try await api.send("POST", "/cart/checkout", as: me).status == 400, "no Idempotency-Key")
        let key = "checkout-\(UUID())"
        let first = try await api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
        #expect(first.status == 201, "\(first.text)")
        let order = try first.decode(OrderReply.self)
        let again = try await api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
        #expect(again.status == 201 && (try? again.decode(OrderReply.self).id) == order.id, "\(again.text)")
        #expect(again.header("Idempotent-Replayed") == "true")

        let customer = try #require(meID(me))
        try await fleet.waitForOrder(order.id, customer) { $0.stock == "reserved" }
        let emptied = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            let view = try await api.send("GET", "/cart", as: me).decode(CartReply.self)
            return view.status == "open" && view.lines.isEmpty
        }
        #expect(emptied, "the cart was not emptied once the order was reserved")
        #expect(try await fleet.count("SELECT count(*) FROM ordering.orders WHERE customer_id = \(customer)") == 1)
    }

    @Test("double-submitted checkouts make one order and leave the cart locked for it; a POST /orders key is not a checkout's; 1000 is the most of one SKU")
    func checkoutEdges() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("CART-EDGE")
        try await fleet.createProduct(sku, stock: 50)
        let id = "edge-\(UUID())"
        let me = APIClient.Identity.customer(id)
        #expect(try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: sku, quantity: 999)).status == 200)
        let over = try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: sku, quantity: 2))
        #expect(over.status == 422, "\(over.text)")
        _ = try await fleet.api.send("PATCH", "/cart/items/\(sku)", as: me, body: ["quantity": 1])

        // A key first used for POST /orders, with another body: 422, as POST /orders would say.
        let used = "used-\(UUID())"
        _ = try await fleet.placeOrder(id, [(sku, 2)], key: used)
        let reused = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": used])
        #expect(reused.status == 422, "\(reused.text)")
        #expect(try await fleet.api.send("GET", "/cart", as: me).json["status"] as? String == "open")
        // ... and with the same lines, POST /orders's order replayed; the cart is not that order's,
        // so it stays open and keeps its line, also once that order's stock is reserved.
        let same = "same-\(UUID())"
        let placed = try await fleet.placeOrder(id, [(sku, 1)], key: same)
        let replayed = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": same])
        #expect(replayed.status == 201 && (try? replayed.decode(OrderReply.self).id) == placed.id, "\(replayed.text)")
        try await fleet.waitForOrder(placed.id, id) { $0.stock == "reserved" }
        let untouched = try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self)
        #expect(untouched.status == "open" && untouched.lines.map(\.quantity) == [1], "\(untouched)")

        // Five concurrent checkouts with one key: one order; the others replay it or are told it is in progress.
        let key = "double-\(UUID())"
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<5 {
                group.addTask {
                    let reply = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
                    return (reply.status, (try? reply.decode(OrderReply.self))?.id.uuidString)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0.0 == 201 || $0.0 == 409 }, "\(statuses)")
        #expect(Set(statuses.compactMap(\.1)).count == 1, "\(statuses)")
        let orders = try await fleet.count("SELECT count(*) FROM ordering.idempotency_keys WHERE customer_id = \(id) AND idempotency_key = \(key)")
        #expect(orders == 1)
        // The cart followed its order: emptied once the stock was reserved.
        let emptied = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            let view = try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self)
            return view.status == "open" && view.lines.isEmpty
        }
        #expect(emptied)
    }

    @Test("a checkout racing POST /orders with its key: that order never empties the cart, and the repeat opens it")
    func checkoutRacingPostOrders() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("CART-RACE")
        try await fleet.createProduct(sku, stock: 10)
        let id = "race-\(UUID())"
        let me = APIClient.Identity.customer(id)
        #expect(try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: sku, quantity: 1)).status == 200)
        // POST /orders with the key is still at work (its Redis lock is held): the checkout locks
        // the cart and is told to retry.
        let key = "race-\(UUID())"
        let lock = "emporium:idempotency:\(id.utf8.count):\(id):\(key)"
        let redis = ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
        _ = try await ChildProcess.shell("redis-cli -u '\(redis)' SET '\(lock)' held PX 60000")
        #expect(try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key]).status == 409)
        #expect(try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self).status == "locked")
        // ... then it commits its own order, and that order's stock is reserved.
        _ = try await ChildProcess.shell("redis-cli -u '\(redis)' DEL '\(lock)'")
        let order = try await fleet.placeOrder(id, [(sku, 1)], key: key)
        try await fleet.waitForOrder(order.id, id) { $0.stock == "reserved" }
        let kept = try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self)
        #expect(kept.lines.map(\.quantity) == [1], "the POST /orders order emptied the cart: \(kept)")
        // The repeated checkout gets the key's answer and opens the cart, lines kept.
        let repeated = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
        #expect(repeated.status == 201 && (try? repeated.decode(OrderReply.self).id) == order.id, "\(repeated.text)")
        let reopened = try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self)
        #expect(reopened.status == "open" && reopened.lines.map(\.quantity) == [1], "\(reopened)")
    }

    @Test("a checkout rejected for stock opens the cart with the short lines marked; fixed, it checks out")
    func rejectedCheckout() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let scarce = fleet.uniqueSKU("CART-SCARCE")
        try await fleet.createProduct(scarce, stock: 2)
        let id = "cart-\(UUID())"
        let me = APIClient.Identity.customer(id)
        _ = try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: scarce, quantity: 5))
        let order = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": "k1-\(UUID())"]).decode(OrderReply.self)
        try await fleet.waitForOrder(order.id, id) { $0.status == "CANCELLED" }
        var cart: CartReply?
        let marked = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            cart = try await fleet.api.send("GET", "/cart", as: me).decode(CartReply.self)
            return cart?.status == "open" && cart?.lines.first?.rejected != nil
        }
        #expect(marked, "\(String(describing: cart))")
        #expect(cart?.lines.first?.rejected?.requested == 5 && cart?.lines.first?.rejected?.available == 2)
        let fixed = try await fleet.api.send("PATCH", "/cart/items/\(scarce)", as: me, body: ["quantity": 2]).decode(CartReply.self)
        #expect(fixed.lines.first?.rejected == nil, "a change clears the mark")
        let second = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": "k2-\(UUID())"])
        #expect(second.status == 201)
        try await fleet.waitForOrder(try second.decode(OrderReply.self).id, id) { $0.stock == "reserved" }
    }

    @Test("the feed shows each status change once, in order; unread counts and reads are the caller's own")
    func notificationFeed() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("FEED")
        try await fleet.createProduct(sku, stock: 5)
        let id = "feed-\(UUID())"
        let me = APIClient.Identity.customer(id)
        let order = try await fleet.placeOrder(id, [(sku, 1)])
        try await fleet.waitForOrder(order.id, id) { $0.stock == "reserved" }
        #expect(try await fleet.api.send("POST", "/orders/\(order.id)/pay", as: me).status == 200)
        try await fleet.waitForOrder(order.id, id, timeout: PipelineFleet.expiry + .seconds(20)) { $0.status == "COMPLETED" }

        // The admin view names the message behind each transition the workers made.
        let detail = try await fleet.api.send("GET", "/admin/orders/\(order.id)", as: .admin)
        let history = detail.json["history"] as? [[String: Any]] ?? []
        #expect(history.last?["causeKind"] as? String == "message" && history.last?["messageType"] as? String == "order.expiry-due", "\(detail.text)")

        var feed: FeedReply?
        let complete = try await eventually(timeout: .seconds(90), every: .milliseconds(200)) {
            feed = try await fleet.api.send("GET", "/notifications", as: me).decode(FeedReply.self)
            // Status changes come over Kafka, mails over the mail queue, which other suites' mails
            // may hold up: wait for the order's last mail (its completion) too. How many mails
            // come before it depends on how many reminders fired before the payment.
            return feed?.items.filter { $0.kind == "order_status" }.count == 3
                && feed?.items.contains { $0.kind == "mail" && $0.title.hasSuffix("is complete") } == true
        }
        #expect(complete, "\(String(describing: feed?.items.map(\.title)))")
        let statuses = feed?.items.filter { $0.kind == "order_status" }.map { $0.orderStatus ?? "?" }
        #expect(statuses == ["COMPLETED", "PAID", "PENDING"], "newest first, each once: \(String(describing: statuses))")
        #expect(feed?.items.contains { $0.kind == "mail" } == true, "the mails are in the feed too")
        let unread = try #require(feed?.unread)
        #expect(unread == feed?.items.count)

        let first = try #require(feed?.items.first)
        #expect(try await fleet.api.send("POST", "/notifications/\(first.id)/read", as: .customer("other-\(UUID())")).status == 404)
        #expect(try await fleet.api.send("POST", "/notifications/\(first.id)/read", as: me).status == 204)
        let after = try await fleet.api.send("GET", "/notifications", as: me).decode(FeedReply.self)
        #expect(after.items.first { $0.id == first.id }?.read == true)
        // The count follows the items (a late mail may still have come in between the two reads).
        #expect(after.unread == after.items.filter { !$0.read }.count && after.unread >= unread - 1, "\(after.unread) after \(unread)")
        #expect(try await fleet.api.send("GET", "/notifications", as: .customer("other-\(UUID())")).decode(FeedReply.self).items.isEmpty)

        // Admins see each mail's delivery: these customers have no address, so their mails failed at once.
        #expect(try await fleet.api.send("GET", "/admin/customers/\(id)/notifications", as: me).status == 403)
        var mails: [FeedReply.Item] = []
        let settled = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            mails = try await fleet.api.send("GET", "/admin/customers/\(id)/notifications", as: .admin).decode(FeedReply.self)
                .items.filter { $0.kind == "mail" }
            return !mails.isEmpty && mails.allSatisfy { $0.delivery?.state == "failed" }
        }
        #expect(settled, "\(mails.map { String(describing: $0.delivery) })")
        #expect(mails.allSatisfy { $0.delivery?.attempts == 1 && $0.delivery?.lastError?.contains("no address") == true })
    }

    @Test("an admin cancel of a PAID order restores stock once; an admin completes a paid order early; both are on record")
    func adminActions() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("ADMIN")
        try await fleet.createProduct(sku, stock: 5)
        let id = "admin-target-\(UUID())"
        let me = APIClient.Identity.customer(id)

        let cancelled = try await fleet.placeOrder(id, [(sku, 2)])
        try await fleet.waitForOrder(cancelled.id, id) { $0.stock == "reserved" }
        #expect(try await fleet.api.send("POST", "/orders/\(cancelled.id)/pay", as: me).status == 200)
        #expect(try await fleet.api.send("POST", "/admin/orders/\(cancelled.id)/cancel", as: me).status == 403)
        let cancel = try await fleet.api.send("POST", "/admin/orders/\(cancelled.id)/cancel", as: .admin)
        #expect(cancel.status == 200 && cancel.json["status"] as? String == "CANCELLED" && cancel.json["cancelReason"] as? String == "admin")
        #expect(try await fleet.api.send("POST", "/admin/orders/\(cancelled.id)/cancel", as: .admin).status == 409)
        try await fleet.expectStock(sku, StockLevels(available: 5, reserved: 0, sold: 0))

        let completed = try await fleet.placeOrder(id, [(sku, 1)])
        try await fleet.waitForOrder(completed.id, id) { $0.stock == "reserved" }
        #expect(try await fleet.api.send("POST", "/admin/orders/\(completed.id)/complete", as: .admin).status == 409, "not paid yet")
        #expect(try await fleet.api.send("POST", "/orders/\(completed.id)/pay", as: me).status == 200)
        let complete = try await fleet.api.send("POST", "/admin/orders/\(completed.id)/complete", as: .admin)
        #expect(complete.status == 200 && complete.json["status"] as? String == "COMPLETED")
        try await fleet.expectStock(sku, StockLevels(available: 4, reserved: 0, sold: 1))
        // Both orders' timer chains run out (each timer, handled, writes the next in the same
        // transaction, so none is left once every one written is handled) and change nothing:
        // the stock stays released once.
        let orderKeys = [cancelled.id, completed.id].map { $0.uuidString.lowercased() }
        let chainsEnded = try await eventually(timeout: PipelineFleet.expiry + .seconds(30), every: .milliseconds(250)) {
            try await fleet.count("""
                SELECT count(*) FROM messaging.outbox o
                WHERE o.message_type IN ('order.payment-reminder-due', 'order.expiry-due') AND o.message_key = ANY(\(orderKeys)::text[])
                  AND NOT EXISTS (SELECT 1 FROM messaging.inbox i WHERE i.message_id = o.message_id)
                """) == 0
        }
        #expect(chainsEnded, "a timer of these orders was never handled")
        try await fleet.expectStock(sku, StockLevels(available: 4, reserved: 0, sold: 1))

        let detail = try await fleet.api.send("GET", "/admin/orders/\(cancelled.id)", as: .admin)
        let history = detail.json["history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["to"] as? String } == ["PENDING", "PAID", "CANCELLED"], "\(detail.text)")
        #expect((history.last?["actor"] as? String)?.hasPrefix("admin:") == true)
        let listed = try await fleet.api.send("GET", "/admin/orders?status=CANCELLED&customer=\(id)", as: .admin)
        #expect((listed.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [cancelled.id.uuidString.lowercased()])
        #expect(try await fleet.api.send("GET", "/admin/orders?status=LOST", as: .admin).status == 400)
        #expect(try await fleet.api.send("GET", "/admin/orders/\(cancelled.id)", as: me).status == 403)
        #expect(try await fleet.api.send("GET", "/orders/\(cancelled.id)", as: .customer("other-\(UUID())")).status == 404)
        let mails = Set(fleet.mail.templates(for: cancelled.id) + fleet.mail.templates(for: completed.id))
        #expect(mails.isSuperset(of: ["order_cancelled", "order_completed"]), "\(mails)")
    }

    @Test("idle open carts are removed after their lifetime; fresh ones stay")
    func idleCartsPurged() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("IDLE")
        try await fleet.createProduct(sku, stock: 5)
        let (idle, fresh) = ("idle-\(UUID())", "fresh-\(UUID())")
        for customer in [idle, fresh] {
            _ = try await fleet.api.send("POST", "/cart/items", as: .customer(customer), body: CartItem(sku: sku, quantity: 1))
        }
        try await fleet.database.execute("UPDATE ordering.carts SET updated_at = now() - interval '2 days' WHERE customer_id = \(idle)")
        let purge = CartPurge(database: fleet.database, lifetime: .seconds(86_400), interval: .seconds(60), logger: PipelineFleet.logger)
        #expect(try await purge.purgeOnce() >= 1)
        #expect(try await fleet.api.send("GET", "/cart", as: .customer(idle)).decode(CartReply.self).lines.isEmpty)
        #expect(try await fleet.api.send("GET", "/cart", as: .customer(fresh)).decode(CartReply.self).lines.count == 1)
    }

    @Test("emporium seed loads a catalog and customers who can log in and order; a second run changes nothing")
    func seed() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let command = "exec '\(PipelineFleet.binary)' seed 2>&1"
        let first = try await ChildProcess.shell(
            "env " + fleet.environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ") + " sh -c \"\(command)\"", timeout: .seconds(120))
        #expect(first.contains("ada@example.com / ada-password-1"), "\(first)")
        let second = try await ChildProcess.shell(
            "env " + fleet.environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ") + " sh -c \"\(command)\"", timeout: .seconds(120))
        #expect(second.contains("(already there)") && !second.contains("Error"), "\(second)")
        let login = try await fleet.api.send("POST", "/auth/login", body: ["email": "ada@example.com", "password": "ada-password-1"])
        #expect(login.status == 200, "\(login.text)")
        let token = try #require(login.json["accessToken"] as? String)
        let copied = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) { try await fleet.catalogCopyKnows("TEA-SENCHA") }
        try #require(copied)
        let order = try await fleet.api.send(
            "POST", "/orders", as: .bearer(token), headers: ["Idempotency-Key": "seed-\(UUID())"], body: NewOrderBody([("TEA-SENCHA", 1)]))
        #expect(order.status == 201, "\(order.text)")
    }

    func meID(_ identity: APIClient.Identity) -> String? {
        if case .customer(let id) = identity { return id }
        return nil
    }
}

struct CartItem: Encodable {
    var sku: String
    var quantity: Int
}

/// A cart locked by its checkout: held locked by pausing the product workers (SIGSTOP, well
/// under the group's session timeout), so the stock decision cannot come in between.
@Suite("Cart lock", .usesRabbitMQ, .rebalancesProductWorkers, .timeLimit(.minutes(10)))
struct CartLockTests {
    @Test("a locked cart refuses changes and other checkouts with 409; the same key replays; the decision unlocks it")
    func lockedCart() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("LOCK")
        try await fleet.createProduct(sku, stock: 10)
        let id = "lock-\(UUID())"
        let me = APIClient.Identity.customer(id)
        _ = try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: sku, quantity: 1))
        let key = "lock-\(UUID())"
        fleet.signalAll("worker-product", SIGSTOP)
        let order: OrderReply
        do {
            defer { fleet.signalAll("worker-product", SIGCONT) }
            let checkout = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
            #expect(checkout.status == 201)
            order = try checkout.decode(OrderReply.self)
            #expect(try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: sku, quantity: 1)).status == 409)
            #expect(try await fleet.api.send("PATCH", "/cart/items/\(sku)", as: me, body: ["quantity": 3]).status == 409)
            #expect(try await fleet.api.send("DELETE", "/cart/items/\(sku)", as: me).status == 409)
            #expect(try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": "other-\(UUID())"]).status == 409)
            let replay = try await fleet.api.send("POST", "/cart/checkout", as: me, headers: ["Idempotency-Key": key])
            #expect(replay.status == 201 && (try? replay.decode(OrderReply.self).id) == order.id)
            #expect(try await fleet.api.send("GET", "/cart", as: me).json["status"] as? String == "locked")
        }
        try await fleet.waitForOrder(order.id, id) { $0.stock == "reserved" }
        let open = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            try await fleet.api.send("GET", "/cart", as: me).json["status"] as? String == "open"
        }
        #expect(open)
    }
}
