import Auth
import Catalog
import Foundation
import NIOCore
import NIOHTTP1
import Ordering
import Synchronization

/// `emporium loadtest` in three phases against a running fleet:
///
/// 1. products: creates the run's products (a SKU prefix of its own, stock nothing will exhaust)
///    and waits until the order side's catalog copy has them (an order stops being 422);
/// 2. orders: `clients` concurrent clients, each with customers of its own (a new one every five orders) and a keep-alive
///    connection, POST orders as fast as they are answered, each with a new Idempotency-Key;
/// 3. decisions: waits until the newest orders are decided, then polls every accepted order
///    until its stock is no longer `awaiting`, and takes the latency from the POST's send time to
///    the order's `stockDecidedAt` (the server's time, whenever the poll reads it).
struct Loadtest: Sendable {
    struct Options: Sendable {
        var endpoint: HTTPEndpoint
        var clients: Int
        /// Orders in all; unused with `duration`.
        var orders: Int
        var duration: Duration?
        /// Orders per second to offer (spread evenly over the clients' sends); `nil`: as fast as
        /// the API answers.
        var rate: Double?
        var products: Int
        var maximumLines: Int
        var decisionTimeout: Duration
        /// At most this many connections poll for decisions.
        var pollers = 4
        var pollInterval: Duration = .milliseconds(500)
        /// Before the poll of every order: how often the newest ones are asked after, and for
        /// how long at most (see `settle`).
        var settleInterval: Duration = .milliseconds(25)
        var settleLimit: Duration = .seconds(30)
        /// Signs the run's customers' and admin's access tokens (the API's own key).
        var tokens: AccessTokens
    }

    let options: Options
    let group: any EventLoopGroup
    let progress: LoadtestProgress
    /// Prefixes the run's SKUs, customer ids and Idempotency-Keys.
    let runID: String

    init(options: Options, group: any EventLoopGroup, progress: LoadtestProgress) {
        self.options = options
        self.group = group
        self.progress = progress
        runID = "LT-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36).uppercased()
            + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36).uppercased()
    }

    /// An order the API accepted.
    struct Accepted: Sendable {
        var id: String
        /// Wall clock, to compare with the server's `stockDecidedAt`.
        var sentAt: Date
        var roundTrip: Duration
    }

    struct Decision: Sendable {
        var stock: String
        /// `nil` if the order had no `stockDecidedAt` (it always should).
        var latencyMilliseconds: Double?
        /// The server's `stockDecidedAt` (same machine, same clock as `sentAt` in the bench).
        var decidedAt: Date?
    }

    private static let instants = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Orders decided per second, from `start` (the sending phase's) to `last`, the last
    /// decision; `nil` unless each of the `accepted` orders was seen decided with its time
    /// (`timed` of them).
    static func decidedPerSecond(accepted: Int, timed: Int, start: Date, last: Date?) -> Double? {
        guard accepted > 0, timed == accepted, let last else { return nil }
        let window = last.timeIntervalSince(start)
        return window > 0 ? Double(accepted) / window : nil
    }

    func run() async throws -> LoadtestReport {
        let skus = try await createProducts()

        progress.enter("orders")
        let start = ContinuousClock.now
        let startDate = Date()
        let dispenser = OrderDispenser(
            total: options.duration == nil ? options.orders : nil, deadline: options.duration.map { start + $0 }, rate: options.rate, start: start)
        let accepted = await withTaskGroup(of: [Accepted].self) { group in
            for client in 0..<options.clients {
                group.addTask { await sendOrders(client: client, skus: skus, dispenser: dispenser) }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let sending = ContinuousClock.now - start

        progress.enter("decisions")
        let (decisions, unresolved) = await awaitDecisions(of: accepted)

        let counts = progress.snapshot
        let decidedTimes = decisions.compactMap(\.decidedAt)
        let lastDecision = decidedTimes.max()
        return LoadtestReport(
            url: options.endpoint.description, skuPrefix: runID, clients: options.clients, offeredRate: options.rate, products: options.products,
            maximumLines: options.maximumLines, sent: counts.sent, accepted: accepted.count, durationSeconds: sending.seconds,
            ordersPerSecond: sending > .zero ? Double(accepted.count) / sending.seconds : 0,
            sentPerSecond: options.rate.flatMap { rate in
                accepted.map(\.sentAt).max().map { last in Double(accepted.count) / (last.timeIntervalSince(startDate) + 1 / rate) }
            },
            decidedPerSecond: Self.decidedPerSecond(accepted: accepted.count, timed: decidedTimes.count, start: startDate, last: lastDecision),
            startedAt: startDate.formatted(Self.instants), lastDecidedAt: lastDecision?.formatted(Self.instants),
            errors: counts.errors,
            reserved: decisions.count(where: { $0.stock == "reserved" }), rejected: decisions.count(where: { $0.stock != "reserved" }),
            unresolved: unresolved, latencyMs: .init(decisions.compactMap(\.latencyMilliseconds)),
            postLatencyMs: .init(accepted.map { $0.roundTrip.seconds * 1000 }), pollErrors: counts.pollErrors)
    }

    // MARK: - Phase 1: products

    /// `Authorization: Bearer` with a token the API accepts for `subject`.
    private func authorization(_ subject: String, role: String = "customer") async throws -> (String, String) {
        ("Authorization", "Bearer " + (try await options.tokens.issue(subject: subject, role: role).token))
    }

    private func createProducts() async throws -> [String] {
        let connection = try await HTTPClientConnection.connect(to: options.endpoint, on: group)
        do {
            let skus = (0..<options.products).map { "\(runID)-\($0)" }
            for (index, sku) in skus.enumerated() {
                let product = NewProduct(
                    sku: sku, name: "Load test product \(index)", priceMinor: Int64(250 + (index * 370) % 9_000), currency: "EUR",
                    stock: 1_000_000)
                let response = try await connection.send(.POST, "/products", headers: [try await authorization("\(runID)-admin", role: "admin")], body: try Self.json(product))
                guard response.status == 201 else {
                    throw LoadtestError("POST /products (\(sku)): HTTP \(response.status): \(String(decoding: response.bytes, as: UTF8.self))")
                }
            }
            try await waitForCatalogCopy(of: skus, on: connection)
            await connection.close()
            return skus
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The order side learns products from Kafka: an order naming every SKU is 422 until it has
    /// them all.
    private func waitForCatalogCopy(of skus: [String], on connection: HTTPClientConnection) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        var attempt = 0
        for start in stride(from: 0, to: skus.count, by: NewOrder.maximumLines) {
            let order = NewOrder(lines: skus[start..<min(start + NewOrder.maximumLines, skus.count)].map { .init(sku: $0, quantity: 1) })
            let body = try Self.json(order)
            while true {
                attempt += 1
                let headers = [try await authorization("\(runID)-probe"), ("Idempotency-Key", "\(runID)-probe-\(attempt)")]
                let response = try await connection.send(.POST, "/orders", headers: headers, body: body)
                if response.status == 201 { break }
                guard response.status == 422, ContinuousClock.now < deadline else {
                    throw LoadtestError(
                        "the order side does not know the products: POST /orders: HTTP \(response.status): \(String(decoding: response.bytes, as: UTF8.self))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: - Phase 2: orders

    static let ordersPerCustomer = 5

    private func sendOrders(client: Int, skus: [String], dispenser: OrderDispenser) async -> [Accepted] {
        // A few orders per customer, then the next one: the API limits what one customer may
        // hold in unpaid orders (ORDER_MAX_OPEN_ORDERS, default 10), and a load test's orders stay unpaid.
        var customer = ""
        var customerAuthorization = ("", "")
        var accepted: [Accepted] = []
        var connection: HTTPClientConnection?
        var sequence = 0
        var random = SystemRandomNumberGenerator()
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        while let due = dispenser.take() {
            if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
            if sequence % Self.ordersPerCustomer == 0 {
                customer = "\(runID)-c\(client)-\(sequence / Self.ordersPerCustomer)"
                guard let next = try? await authorization(customer) else { break }
                customerAuthorization = next
            }
            sequence += 1
            progress.sent()
            do {
                if connection == nil { connection = try await HTTPClientConnection.connect(to: options.endpoint, on: group) }
                let lines = skus.shuffled(using: &random).prefix(Int.random(in: 1...options.maximumLines, using: &random))
                let body = try [UInt8](encoder.encode(NewOrder(lines: lines.map { .init(sku: $0, quantity: Int.random(in: 1...3, using: &random)) })))
                let headers = [customerAuthorization, ("Idempotency-Key", "\(customer)-\(sequence)")]
                let sentAt = Date()
                let start = ContinuousClock.now
                let response = try await connection!.send(.POST, "/orders", headers: headers, body: body)
                let roundTrip = ContinuousClock.now - start
                guard response.status == 201, let created = try? decoder.decode(CreatedOrder.self, from: Data(response.bytes)) else {
                    progress.failed("HTTP \(response.status)")
                    continue
                }
                accepted.append(Accepted(id: created.id, sentAt: sentAt, roundTrip: roundTrip))
                progress.accepted()
            } catch let error as HTTPTransportError {
                progress.failed(error.kind)
                await connection?.close()
                connection = nil
                // Not a tight loop against an API that is down.
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                progress.failed("client error")
            }
        }
        await connection?.close()
        return accepted
    }

    private struct CreatedOrder: Decodable {
        var id: String
    }

    // MARK: - Phase 3: decisions

    private func awaitDecisions(of accepted: [Accepted]) async -> (decisions: [Decision], unresolved: Int) {
        let deadline = ContinuousClock.now + options.decisionTimeout
        // One admin token for every read of this phase.
        let admin = (try? await authorization("\(runID)-admin", role: "admin")) ?? ("Authorization", "")
        await settle(accepted, admin: admin, until: deadline)
        let pollers = max(1, min(options.pollers, options.clients, accepted.count))
        return await withTaskGroup(of: ([Decision], Int).self) { group in
            for poller in 0..<pollers {
                let share = stride(from: poller, to: accepted.count, by: pollers).map { accepted[$0] }
                group.addTask { await poll(share, admin: admin, until: deadline) }
            }
            return await group.reduce(into: ([], 0)) { result, part in
                result.0 += part.0
                result.1 += part.1
            }
        }
    }

    /// Waits until the newest orders (as many as there are clients, by send time) are decided,
    /// asking after one at a time on one connection, every `settleInterval` while it is awaiting.
    /// The poll of every order that follows sends as many GETs as there were orders, as fast as
    /// its connections allow, and each costs the fleet an API request and a read: sent while the
    /// last decisions were still being made, they took CPU from those decisions and so delayed
    /// them, lowering the decided rate the bench sets beside pgbench's (whose client reads nothing
    /// back), and to a lesser degree the last orders' latencies in a paced run. The reads' own
    /// timing enters no figure: the decision times are the server's `stockDecidedAt`. An older
    /// order still undecided after the newest ones is found by that poll as before.
    /// It starts no GET after `settleLimit`, nor after half the time left for the decisions (a GET
    /// under way then is waited for, within the connection's time-outs): an order that is never
    /// decided, or cannot be read (it is left to the poll, which tries it again), must not keep
    /// the poll from collecting all the others.
    private func settle(_ accepted: [Accepted], admin: (String, String), until deadline: ContinuousClock.Instant) async {
        var newest = ArraySlice(accepted.sorted { $0.sentAt < $1.sentAt }.suffix(options.clients))
        guard !newest.isEmpty else { return }
        let now = ContinuousClock.now
        let end = now + min(options.settleLimit, (deadline - now) / 2)
        var connection: HTTPClientConnection?
        let decoder = JSONDecoder()
        while let order = newest.first, ContinuousClock.now < end {
            switch await check(order, admin: admin, decoder: decoder, on: &connection) {
            case .decided, .failed: newest.removeFirst()
            case .awaiting: try? await Task.sleep(for: options.settleInterval)
            }
        }
        await connection?.close()
    }

    private enum Check {
        case decided(Decision)
        case awaiting
        /// Counted in the progress' poll errors; the connection is closed if the transport failed.
        case failed
    }

    /// One `GET /orders/{id}` of `order`, on `connection` (opened if `nil`).
    private func check(
        _ order: Accepted, admin: (String, String), decoder: JSONDecoder, on connection: inout HTTPClientConnection?
    ) async -> Check {
        do {
            if connection == nil { connection = try await HTTPClientConnection.connect(to: options.endpoint, on: group) }
            let response = try await connection!.send(.GET, "/orders/\(order.id)", headers: [admin])
            guard response.status == 200, let seen = try? decoder.decode(PolledOrder.self, from: Data(response.bytes)) else {
                progress.pollFailed("HTTP \(response.status)")
                return .failed
            }
            guard seen.stock != "awaiting" else { return .awaiting }
            let decidedAt = seen.stockDecidedAt.flatMap { try? Self.instants.parse($0) }
            if decidedAt == nil { progress.pollFailed("decided without stockDecidedAt") }
            return .decided(Decision(
                stock: seen.stock, latencyMilliseconds: decidedAt.map { $0.timeIntervalSince(order.sentAt) * 1000 }, decidedAt: decidedAt))
        } catch let error as HTTPTransportError {
            progress.pollFailed(error.kind)
            await connection?.close()
            connection = nil
            return .failed
        } catch {
            progress.pollFailed("client error")
            return .failed
        }
    }

    /// Polls `orders` on one connection, a pass over the undecided ones every `pollInterval`.
    private func poll(_ orders: [Accepted], admin: (String, String), until deadline: ContinuousClock.Instant) async -> ([Decision], Int) {
        var waiting = orders
        var decisions: [Decision] = []
        var connection: HTTPClientConnection?
        let decoder = JSONDecoder()
        while !waiting.isEmpty, ContinuousClock.now < deadline {
            var still: [Accepted] = []
            for order in waiting {
                guard ContinuousClock.now < deadline else {
                    still.append(order)
                    continue
                }
                guard case .decided(let decision) = await check(order, admin: admin, decoder: decoder, on: &connection) else {
                    still.append(order)
                    continue
                }
                decisions.append(decision)
                progress.decided(decision.stock)
            }
            waiting = still
            if !waiting.isEmpty { try? await Task.sleep(for: options.pollInterval) }
        }
        await connection?.close()
        return (decisions, waiting.count)
    }

    private struct PolledOrder: Decodable {
        var stock: String
        var stockDecidedAt: String?
    }

    private static func json(_ value: some Encodable) throws -> [UInt8] {
        try [UInt8](JSONEncoder().encode(value))
    }
}

/// Hands out the orders to send: a fixed number, or until a deadline; each at once, or at a
/// fixed rate (the n-th order is due n / rate seconds after the start, whichever client sends it).
final class OrderDispenser: Sendable {
    private let handedOut: Mutex<Int>
    private let total: Int
    private let deadline: ContinuousClock.Instant?
    private let interval: Duration?
    private let start: ContinuousClock.Instant

    init(total: Int?, deadline: ContinuousClock.Instant?, rate: Double? = nil, start: ContinuousClock.Instant = .now) {
        handedOut = Mutex(0)
        self.total = total ?? .max
        self.deadline = deadline
        interval = rate.map { Duration.nanoseconds(Int64(1e9 / $0)) }
        self.start = start
    }

    /// When the caller may send one more, or `nil` when there are no more to send.
    func take() -> ContinuousClock.Instant? {
        let now = ContinuousClock.now
        guard let sequence = handedOut.withLock({ count -> Int? in
            guard count < total else { return nil }
            count += 1
            return count - 1
        }) else { return nil }
        let due = interval.map { start + $0 * sequence } ?? now
        if let deadline, due >= deadline { return nil }
        return due
    }
}
