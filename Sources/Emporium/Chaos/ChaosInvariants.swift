import ConnectionPool
import Catalog
import Foundation
import Messaging
import Postgres

/// One invariant's verdict: the offending ids (empty: PASS) and what was counted.
struct InvariantResult: Sendable, Codable {
    var name: String
    var violations: [String]
    var detail: String

    var passed: Bool { violations.isEmpty }
}

/// Everything the checks read besides the database.
struct ChaosEvidence: Sendable {
    var ledger: ChaosLedger.State
    var skus: [String]
    var initialStock: Int
    var expiry: Duration
    var reminders: Int
    var faults: [InjectedFault]
    var poison: [(kind: FaultKind, marker: String)]
    /// Dead letters by where they are (topic or queue), each as its position, type, error and body.
    var deadLetters: [String: [DeadLetter]]
    /// Destinations that could not be read.
    var deadLetterErrors: [String]
    /// The SMTP catcher's captures: mail id -> receive times.
    var captures: [String: [Date]]
    var crashes: [String]
}

/// The checks made once the load has stopped and the fleet has drained. Each reads one
/// repeatable-read snapshot of the run's database and the evidence, and names what breaks it.
struct ChaosInvariants {
    let database: PostgresPool

    /// What must hold before the checks mean anything: nothing in flight. Returns what is still
    /// moving (empty when drained).
    func inFlight() async throws -> [String] {
        let row = try await database.query("""
            SELECT
                (SELECT count(*) FROM ordering.orders WHERE status IN ('PENDING', 'PAID') OR stock = 'awaiting')::bigint AS open_orders,
                (SELECT count(*) FROM messaging.outbox WHERE sent_at IS NULL AND failed_at IS NULL)::bigint AS unsent,
                (SELECT count(*) FROM messaging.outbox o WHERE o.message_type = 'mail.send' AND NOT EXISTS (
                    SELECT 1 FROM mailing.mails m WHERE m.id = o.message_id AND m.state IN ('sent', 'failed')))::bigint AS unmailed
            """)[0]
        var moving: [String] = []
        for (column, what) in [("open_orders", "orders not yet final"), ("unsent", "outbox rows unsent"), ("unmailed", "mail commands not yet sent")] {
            let count: Int = try row.decode(column)
            if count > 0 { moving.append("\(count) \(what)") }
        }
        return moving
    }

    func check(_ evidence: ChaosEvidence) async throws -> [InvariantResult] {
        try await database.withTransaction(isolation: .repeatableRead) { connection in
            let orders = try await Self.orders(on: connection)
            var results: [InvariantResult] = []
            results.append(try await Self.acceptedOrdersExistOnce(orders, evidence, on: connection))
            results.append(Self.ordersDecidedAndTimed(orders, evidence))
            results.append(try await Self.stockConserved(orders, evidence, on: connection))
            results.append(try await Self.historyLegal(orders, on: connection))
            results.append(Self.confirmedActionsHonoured(orders, evidence))
            results.append(try await Self.remindersSent(orders, evidence, on: connection))
            results.append(try await Self.mailsSentOnce(evidence, on: connection))
            results.append(try await Self.outboxDrained(on: connection))
            results.append(Self.deadLettersArePoison(evidence))
            results.append(InvariantResult(
                name: "no process crashed", violations: evidence.crashes,
                detail: "every process ended only when the run killed or stopped it"))
            results.append(InvariantResult(
                name: "every answer kept the API's promises", violations: evidence.ledger.anomalies,
                detail: "5xx answers are problem documents; no unexpected 4xx; a repeated key names its order"))
            return results
        }
    }

    struct OrderRow: Sendable {
        var id: UUID
        var customer: String
        var status: String
        var reason: String?
        var stock: String
        var remindersSent: Int
        var createdAt: Date
    }

    static func orders(on connection: PostgresConnection) async throws -> [UUID: OrderRow] {
        var orders: [UUID: OrderRow] = [:]
        for row in try await connection.query(
            "SELECT id, customer_id, status, cancel_reason, stock, reminders_sent, created_at FROM ordering.orders")
        {
            let id: UUID = try row.decode("id")
            orders[id] = OrderRow(
                id: id, customer: try row.decode("customer_id"), status: try row.decode("status"), reason: try row.decode("cancel_reason"),
                stock: try row.decode("stock"), remindersSent: try row.decode("reminders_sent"), createdAt: try row.decode("created_at"))
        }
        return orders
    }

    /// Every order an answer named exists, for its customer; one order per (customer, key); an
    /// order nobody was told of belongs to a key whose answers were lost.
    static func acceptedOrdersExistOnce(
        _ orders: [UUID: OrderRow], _ evidence: ChaosEvidence, on connection: PostgresConnection
    ) async throws -> InvariantResult {
        var violations: [String] = []
        var keyOf: [UUID: String] = [:]
        for row in try await connection.query("SELECT customer_id, idempotency_key, order_id FROM ordering.idempotency_keys") {
            let customer: String = try row.decode("customer_id")
            let key: String = try row.decode("idempotency_key")
            keyOf[try row.decode("order_id")] = customer + " " + key
        }
        var answered = 0
        for (name, use) in evidence.ledger.keys {
            if use.orders.count > 1 { violations.append("key \(name): answered with \(use.orders.count) orders \(use.orders.map(\.lowercasedText))") }
            for id in use.orders {
                answered += 1
                guard let order = orders[id] else {
                    violations.append("order \(id.lowercasedText) (key \(name)) was accepted and does not exist")
                    continue
                }
                if order.customer != use.customer { violations.append("order \(id.lowercasedText) belongs to \(order.customer), not \(use.customer)") }
            }
        }
        var byKey: [String: [UUID]] = [:]
        for id in orders.keys {
            guard let key = keyOf[id] else {
                violations.append("order \(id.lowercasedText) has no Idempotency-Key record")
                continue
            }
            byKey[key, default: []].append(id)
            guard let use = evidence.ledger.keys[key] else {
                violations.append("order \(id.lowercasedText) was made for key \(key), which the load never sent")
                continue
            }
            if !use.orders.isEmpty && !use.orders.contains(id) { violations.append("order \(id.lowercasedText): its key \(key) was answered with another order") }
            if use.orders.isEmpty && !use.unresolved { violations.append("order \(id.lowercasedText): its key \(key) was refused, yet the order exists") }
        }
        for (key, ids) in byKey where ids.count > 1 { violations.append("key \(key): \(ids.count) orders") }
        let unresolved = evidence.ledger.keys.values.filter(\.unresolved).count
        return InvariantResult(
            name: "every accepted order exists once; one order per (customer, Idempotency-Key)", violations: violations,
            detail: "\(answered) answers naming an order, \(orders.count) orders, \(evidence.ledger.keys.count) keys sent, \(unresolved) never answered")
    }

    /// Every order has its stock decision and is final; a rejected one is cancelled as out of
    /// stock; nothing was expired or completed before its time.
    static func ordersDecidedAndTimed(_ orders: [UUID: OrderRow], _ evidence: ChaosEvidence) -> InvariantResult {
        var violations: [String] = []
        var counts: [String: Int] = [:]
        for order in orders.values {
            counts["\(order.status)\(order.reason.map { "(\($0))" } ?? "")", default: 0] += 1
            let id = order.id.lowercasedText
            if order.stock == "awaiting" { violations.append("\(id): stock never decided") }
            if order.status != "COMPLETED" && order.status != "CANCELLED" { violations.append("\(id): still \(order.status)") }
            // Rejected stock cancels a PENDING order as out of stock; one the customer cancelled
            // or that expired while its decision was on its way stays cancelled for that reason.
            if order.stock == "rejected" && order.status != "CANCELLED" { violations.append("\(id): stock rejected but \(order.status)") }
            if order.status == "COMPLETED" && order.stock != "reserved" { violations.append("\(id): completed without reserved stock") }
        }
        return InvariantResult(
            name: "every order decided and final", violations: violations,
            detail: counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// initial = available + reserved + sold for every SKU, the stock columns agree with the
    /// reservations, and each reservation's state agrees with its order's (a reservation released
    /// twice would show here as units out of thin air).
    static func stockConserved(_ orders: [UUID: OrderRow], _ evidence: ChaosEvidence, on connection: PostgresConnection) async throws -> InvariantResult {
        var violations: [String] = []
        let balances = try await StockBalance.read(evidence.skus, on: connection)
        for balance in balances where !balance.conserves(evidence.initialStock) {
            violations.append("\(balance.description) != \(evidence.initialStock)")
        }
        let sold = balances.reduce(0) { $0 + $1.sold }
        if balances.count != evidence.skus.count { violations.append("\(evidence.skus.count) SKUs created, \(balances.count) with stock") }
        let expected: [String: String] = ["COMPLETED": "sold"]
        for row in try await connection.query("SELECT order_id, status FROM catalog.reservations") {
            let id: UUID = try row.decode("order_id")
            let status: String = try row.decode("status")
            guard let order = orders[id] else {
                violations.append("reservation \(id.lowercasedText) (\(status)) has no order")
                continue
            }
            let want = expected[order.status] ?? (order.stock == "rejected" ? "rejected" : "released")
            if status != want { violations.append("reservation \(id.lowercasedText) is \(status), its order \(order.status)/\(order.stock): expected \(want)") }
        }
        return InvariantResult(
            name: "stock conserved for every SKU; each reservation released at most once", violations: violations,
            detail: "\(balances.count) SKUs of \(evidence.initialStock) units, \(sold) units sold")
    }

    /// Each order's history is a legal path from PENDING to where the order is, one step at a time.
    static func historyLegal(_ orders: [UUID: OrderRow], on connection: PostgresConnection) async throws -> InvariantResult {
        let legal: Set<String> = ["-PENDING", "PENDING-PAID", "PENDING-CANCELLED", "PAID-COMPLETED", "PAID-CANCELLED"]
        var paths: [UUID: [(from: String?, to: String)]] = [:]
        for row in try await connection.query("SELECT order_id, from_status, to_status FROM ordering.status_history ORDER BY id") {
            paths[try row.decode("order_id"), default: []].append((try row.decode("from_status"), try row.decode("to_status")))
        }
        var violations: [String] = []
        for order in orders.values {
            let path = paths[order.id] ?? []
            var at: String?
            for step in path {
                if step.from != at || !legal.contains("\(step.from ?? "")-\(step.to)") {
                    violations.append("\(order.id.lowercasedText): \(path.map { "\($0.from ?? "-")->\($0.to)" }.joined(separator: ", "))")
                    break
                }
                at = step.to
            }
            if at != order.status && !path.isEmpty { violations.append("\(order.id.lowercasedText): history ends at \(at ?? "-"), the order is \(order.status)") }
            if path.isEmpty { violations.append("\(order.id.lowercasedText): no history") }
        }
        return InvariantResult(
            name: "each order's status history is a legal path", violations: violations,
            detail: "\(paths.values.reduce(0) { $0 + $1.count }) transitions")
    }

    /// A payment the API confirmed ends COMPLETED; a confirmed cancellation ends CANCELLED by the customer.
    static func confirmedActionsHonoured(_ orders: [UUID: OrderRow], _ evidence: ChaosEvidence) -> InvariantResult {
        var violations: [String] = []
        for id in evidence.ledger.paid where orders[id]?.status != "COMPLETED" {
            violations.append("\(id.lowercasedText): payment confirmed, order \(orders[id].map { "\($0.status)/\($0.reason ?? "-")" } ?? "missing")")
        }
        for id in evidence.ledger.cancelled where orders[id]?.status != "CANCELLED" || orders[id]?.reason != "customer" {
            violations.append("\(id.lowercasedText): cancellation confirmed, order \(orders[id].map { "\($0.status)/\($0.reason ?? "-")" } ?? "missing")")
        }
        return InvariantResult(
            name: "confirmed payments and cancellations are honoured", violations: violations,
            detail: "\(evidence.ledger.paid.count) payments, \(evidence.ledger.cancelled.count) cancellations confirmed")
    }

    /// An order that expired was PENDING through every reminder: it got all of them; every order
    /// got as many reminder mails as it records, none twice.
    static func remindersSent(_ orders: [UUID: OrderRow], _ evidence: ChaosEvidence, on connection: PostgresConnection) async throws -> InvariantResult {
        var mails: [UUID: Int] = [:]
        for row in try await connection.query(
            "SELECT order_id, count(*)::bigint AS n FROM mailing.mails WHERE template = 'payment_reminder' GROUP BY order_id")
        {
            mails[try row.decode("order_id")] = try row.decode("n")
        }
        var violations: [String] = []
        var expired = 0
        for order in orders.values {
            let sent = mails[order.id] ?? 0
            if sent != order.remindersSent { violations.append("\(order.id.lowercasedText): \(order.remindersSent) reminders recorded, \(sent) mailed") }
            if order.remindersSent > evidence.reminders { violations.append("\(order.id.lowercasedText): \(order.remindersSent) reminders") }
            if order.reason == "expired" {
                expired += 1
                if order.remindersSent != evidence.reminders { violations.append("\(order.id.lowercasedText): expired after \(order.remindersSent) of \(evidence.reminders) reminders") }
            }
        }
        return InvariantResult(
            name: "every due reminder was sent, once", violations: violations,
            detail: "\(mails.values.reduce(0, +)) reminder mails; \(expired) expired orders")
    }

    /// Each mail command was sent, and the catcher got it once; a second copy is allowed only
    /// where a mail worker was killed (or frozen) between the server's acceptance and the commit.
    static func mailsSentOnce(_ evidence: ChaosEvidence, on connection: PostgresConnection) async throws -> InvariantResult {
        var violations: [String] = []
        var states: [String: String] = [:]
        for row in try await connection.query("""
            SELECT o.message_id::text AS id, COALESCE(m.state, 'missing') AS state
            FROM messaging.outbox o LEFT JOIN mailing.mails m ON m.id = o.message_id WHERE o.message_type = 'mail.send'
            """)
        {
            states[try row.decode("id")] = try row.decode("state")
        }
        let disruptions = evidence.faults.filter {
            ($0.kind == .kill || $0.kind == .stall) && $0.target.hasPrefix("worker-mail")
        }.map(\.startedAt)
        var duplicates = 0
        var explained = 0
        for (id, state) in states {
            let copies = evidence.captures[id] ?? []
            if state != "sent" { violations.append("mail \(id): \(state)") }
            if copies.isEmpty && state == "sent" { violations.append("mail \(id): recorded sent, never received") }
            guard copies.count > 1 else { continue }
            duplicates += copies.count - 1
            let first = copies.min()!, last = copies.max()!
            if disruptions.contains(where: { $0 >= first.addingTimeInterval(-1) && $0 <= last }) {
                explained += copies.count - 1
            } else {
                violations.append("mail \(id): received \(copies.count) times (\(copies.map { $0.formatted(.iso8601) }.joined(separator: ", "))), no mail worker killed in between")
            }
        }
        for id in evidence.captures.keys where states[id] == nil { violations.append("mail \(id): received, never commanded") }
        return InvariantResult(
            name: "each mail command sent once", violations: violations,
            detail: "\(states.count) commands, \(evidence.captures.values.reduce(0) { $0 + $1.count }) received; \(duplicates) duplicates, \(explained) of them explained by \(disruptions.count) mail-worker kills or stalls")
    }

    static func outboxDrained(on connection: PostgresConnection) async throws -> InvariantResult {
        var violations: [String] = []
        for row in try await connection.query("""
            SELECT id, message_type, failed_at IS NOT NULL AS parked, COALESCE(last_error, '') AS error
            FROM messaging.outbox WHERE sent_at IS NULL ORDER BY id LIMIT 200
            """)
        {
            let id: Int64 = try row.decode("id")
            let type: String = try row.decode("message_type")
            let parked: Bool = try row.decode("parked")
            let error: String = try row.decode("error")
            violations.append("outbox \(id) \(type): \(parked ? "parked" : "unsent") \(error)")
        }
        let total: Int = try await connection.query("SELECT count(*)::bigint AS n FROM messaging.outbox")[0].decode("n")
        return InvariantResult(name: "outbox drained, nothing parked", violations: violations, detail: "\(total) rows, all sent")
    }

    /// The dead letters are the poison messages the run wrote, and every one of them is there.
    static func deadLettersArePoison(_ evidence: ChaosEvidence) -> InvariantResult {
        var violations = evidence.deadLetterErrors.map { "unreadable: \($0)" }
        var found: Set<String> = []
        var total = 0
        for (place, letters) in evidence.deadLetters.sorted(by: { $0.key < $1.key }) {
            for letter in letters {
                total += 1
                if let marker = evidence.poison.map(\.marker).first(where: letter.carries) {
                    found.insert(marker)
                } else {
                    violations.append("\(place) \(letter.position): \(letter.type) \(letter.messageID ?? "-"), \(letter.errorType): \(letter.errorMessage)")
                }
            }
        }
        for poison in evidence.poison where !found.contains(poison.marker) {
            violations.append("\(poison.kind.rawValue) \(poison.marker) is in no dead-letter destination")
        }
        return InvariantResult(
            name: "the dead letters hold exactly the poison messages", violations: violations,
            detail: "\(evidence.poison.count) poison messages written, \(total) dead letters")
    }
}

extension DeadLetter {
    /// Whether this is the poison message `marker` names (in its body, id or key).
    func carries(_ marker: String) -> Bool {
        body.contains(marker) || messageID == marker || key == marker
    }
}
