import Auth
import Foundation
import NIOCore
import NIOHTTP1
import Ordering
import Synchronization

/// What the load saw, for the invariants: each Idempotency-Key sent and the orders it was
/// answered with, the payments and cancellations the API confirmed, and the answers by status.
final class ChaosLedger: Sendable {
    struct KeyUse: Sendable {
        var customer: String
        var key: String
        /// Every order id an answer named for this key (more than one is a violation).
        var orders: Set<UUID> = []
        /// Sent, but no answer said what became of it (a timeout every time): zero or one order.
        var unresolved = false
    }

    struct State: Sendable {
        var keys: [String: KeyUse] = [:]
        var paid: Set<UUID> = []
        var cancelled: Set<UUID> = []
        var answers: [String: Int] = [:]
        var orderLatencies: [Double] = []
        /// Answers that break a promise by themselves (a 5xx that is not a problem document, ...).
        var anomalies: [String] = []
    }

    private let state = Mutex(State())

    var snapshot: State { state.withLock { $0 } }

    func count(_ answer: String) { state.withLock { $0.answers[answer, default: 0] += 1 } }
    func anomaly(_ text: String) { state.withLock { $0.anomalies.append(text) } }
    func paid(_ id: UUID) { state.withLock { _ = $0.paid.insert(id) } }
    func cancelled(_ id: UUID) { state.withLock { _ = $0.cancelled.insert(id) } }

    func sent(customer: String, key: String) {
        use(customer, key) { _ in }
    }

    func answered(customer: String, key: String, order: UUID, latency: Double?) {
        use(customer, key) { $0.orders.insert(order) }
        if let latency { state.withLock { $0.orderLatencies.append(latency) } }
    }

    func unresolved(customer: String, key: String) {
        use(customer, key) { $0.unresolved = true }
    }

    /// The record of (customer, key), made on first use; keyed as the idempotency table's rows
    /// are matched to it ("customer key").
    private func use(_ customer: String, _ key: String, _ change: (inout KeyUse) -> Void) {
        state.withLock { change(&$0.keys[customer + " " + key, default: KeyUse(customer: customer, key: key)]) }
    }
}

/// The run's traffic: `clients` concurrent clients, each placing orders for its share of the
/// customers on the small catalog (so stock runs out), paying or cancelling some of them once
/// their stock is reserved and leaving the rest to the reminders and the expiry, repeating some
/// requests with the same Idempotency-Key, and retrying (same key) whatever got no answer.
struct ChaosLoad: Sendable {
    let endpoints: [HTTPEndpoint]
    let tokens: AccessTokens
    let customers: [String]
    let skus: [String]
    let clients: Int
    let seed: UInt64
    let runTag: String
    let orderExpiry: Duration
    let group: any EventLoopGroup
    let ledger: ChaosLedger

    func run(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { tasks in
            for client in 0..<clients {
                tasks.addTask {
                    var driver = Client(load: self, index: client)
                    await driver.run(until: deadline)
                }
            }
        }
    }

    /// A follow-up on an accepted order.
    struct FollowUp {
        enum Action: String { case pay, cancel }
        var due: ContinuousClock.Instant
        var order: UUID
        var customer: String
        var action: Action
        var placedAt: ContinuousClock.Instant
        var attempts = 0
        /// An earlier attempt got no answer: it may have been carried out.
        var uncertain = false
    }

    struct Client {
        let load: ChaosLoad
        let index: Int
        var random: SeededRandom
        var endpoint: Int
        var connection: HTTPClientConnection?
        var sequence = 0
        var followUps: [FollowUp] = []

        init(load: ChaosLoad, index: Int) {
            self.load = load
            self.index = index
            random = SeededRandom(seed: load.seed &+ UInt64(index) &* 7919)
            endpoint = index % load.endpoints.count
        }

        var myCustomers: [String] { stride(from: index, to: load.customers.count, by: load.clients).map { load.customers[$0] } }

        mutating func run(until deadline: ContinuousClock.Instant) async {
            let customers = myCustomers
            guard !customers.isEmpty else { return }
            while ContinuousClock.now < deadline && !Task.isCancelled {
                await runDueFollowUps()
                let customer = customers.randomElement(using: &random)!
                if let order = await placeOrder(for: customer) {
                    let roll = Int.random(in: 0..<100, using: &random)
                    let action: FollowUp.Action? = roll < 55 ? .pay : roll < 70 ? .cancel : nil
                    if let action {
                        let now = ContinuousClock.now
                        followUps.append(FollowUp(
                            due: now + random.duration(.milliseconds(100)...(.seconds(3))), order: order, customer: customer, action: action,
                            placedAt: now))
                    }
                }
                try? await Task.sleep(for: random.duration(.milliseconds(50)...(.milliseconds(400))))
            }
            // Payments and cancellations already decided on are carried out (an order left
            // undecided here simply expires).
            let finish = ContinuousClock.now + .seconds(20)
            while !followUps.isEmpty && ContinuousClock.now < finish {
                await runDueFollowUps()
                try? await Task.sleep(for: .milliseconds(100))
            }
            await connection?.close()
        }

        /// POST /orders until an answer says what became of the key (the same key every time).
        mutating func placeOrder(for customer: String) async -> UUID? {
            sequence += 1
            let key = "\(load.runTag)-\(index)-\(sequence)"
            let lines = load.skus.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random))
                .map { NewOrder.Line(sku: $0, quantity: Int.random(in: 1...3, using: &random)) }
            guard let body = try? [UInt8](JSONEncoder().encode(NewOrder(lines: lines))) else { return nil }
            load.ledger.sent(customer: customer, key: key)
            let giveUp = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < giveUp {
                let started = ContinuousClock.now
                guard let response = await send(.POST, "/orders", as: customer, headers: [("Idempotency-Key", key)], body: body) else {
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                switch response.status {
                case 200, 201:
                    guard let id = Self.orderID(in: response) else {
                        load.ledger.anomaly("POST /orders \(key): \(response.status) without an order id")
                        return nil
                    }
                    load.ledger.answered(customer: customer, key: key, order: id, latency: (ContinuousClock.now - started).seconds * 1000)
                    // Now and then the same request again: it must name the same order.
                    if Int.random(in: 0..<10, using: &random) == 0,
                        let again = await send(.POST, "/orders", as: customer, headers: [("Idempotency-Key", key)], body: body),
                        again.status == 200 || again.status == 201, let repeated = Self.orderID(in: again)
                    {
                        load.ledger.answered(customer: customer, key: key, order: repeated, latency: nil)
                    }
                    return id
                case 409, 500...599:
                    // In progress elsewhere (the key's lock) or the servers are down: the same key again.
                    try? await Task.sleep(for: .milliseconds(300))
                default:
                    load.ledger.anomaly("POST /orders \(key): \(response.status) \(String(decoding: response.bytes.prefix(300), as: UTF8.self))")
                    return nil
                }
            }
            load.ledger.unresolved(customer: customer, key: key)
            return nil
        }

        mutating func runDueFollowUps() async {
            let now = ContinuousClock.now
            let due = followUps.filter { $0.due <= now }
            followUps.removeAll { $0.due <= now }
            for var followUp in due {
                followUp.attempts += 1
                let path = "/orders/\(followUp.order.uuidString.lowercased())/\(followUp.action.rawValue)"
                guard let response = await send(.POST, path, as: followUp.customer, headers: [], body: nil) else {
                    followUp.uncertain = true
                    retry(followUp, after: .milliseconds(500))
                    continue
                }
                switch response.status {
                case 200:
                    followUp.action == .pay ? load.ledger.paid(followUp.order) : load.ledger.cancelled(followUp.order)
                case 409:
                    let problem = Self.json(response)
                    let status = problem?["status"] as? String
                    if problem?["stock"] != nil {
                        // Not reserved yet: again shortly, while the order can still be paid.
                        if ContinuousClock.now - followUp.placedAt < load.orderExpiry { retry(followUp, after: .milliseconds(300)) }
                    } else if followUp.uncertain, followUp.action == .pay, status == "PAID" || status == "COMPLETED" {
                        // An earlier attempt that got no answer did pay it (nobody else pays).
                        load.ledger.paid(followUp.order)
                    }
                case 500...599:
                    retry(followUp, after: .milliseconds(500))
                default:
                    load.ledger.anomaly("POST \(path): \(response.status) \(String(decoding: response.bytes.prefix(300), as: UTF8.self))")
                }
            }
        }

        mutating func retry(_ followUp: FollowUp, after delay: Duration) {
            guard followUp.attempts < 60 else { return }
            var again = followUp
            again.due = ContinuousClock.now + delay
            followUps.append(again)
        }

        /// One request on the client's connection; `nil` if it got no answer (the connection is
        /// dropped and the next request goes to the other API instance). A 5xx must be a problem
        /// document.
        mutating func send(
            _ method: HTTPMethod, _ path: String, as customer: String, headers: [(String, String)], body: [UInt8]?
        ) async -> HTTPClientConnection.Response? {
            let label = "\(method) \(path.hasPrefix("/orders/") ? "/orders/{id}/" + (path.split(separator: "/").last ?? "") : path)"
            do {
                let token = try await load.tokens.issue(subject: customer, role: "customer").token
                if connection == nil { connection = try await HTTPClientConnection.connect(to: load.endpoints[endpoint], on: load.group) }
                var all = headers + [("Authorization", "Bearer \(token)")]
                if body != nil { all.append(("Content-Type", "application/json")) }
                let response = try await connection!.send(method, path, headers: all, body: body, timeout: .seconds(10))
                load.ledger.count("\(label) \(response.status)")
                if response.status >= 500, Self.json(response)?["title"] == nil {
                    load.ledger.anomaly("\(label): \(response.status) is not a problem document")
                }
                return response
            } catch {
                load.ledger.count("\(label) no answer (\((error as? HTTPTransportError)?.kind ?? "client error"))")
                await connection?.close()
                connection = nil
                endpoint = (endpoint + 1) % load.endpoints.count
                return nil
            }
        }

        static func json(_ response: HTTPClientConnection.Response) -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(response.bytes))) as? [String: Any]
        }

        static func orderID(in response: HTTPClientConnection.Response) -> UUID? {
            (json(response)?["id"] as? String).flatMap(UUID.init(uuidString:))
        }
    }
}
