import Auth
import Catalog
import Foundation
import NIOCore
import NIOHTTP1

/// `emporium loadtest --page graphql|rest`: a storefront's product page (the product with its
/// stock, and the signed-in customer's cart with each line's stock), requested by concurrent
/// clients for a while, as fast as answered. Over GraphQL it is one POST /graphql; over REST, the
/// same data takes GET /products/{sku} then GET /cart. Reports pages per second and the page's
/// latency, so `make bench` can put one against the other.
struct PageLoad: Sendable {
    enum API: String, Sendable, CaseIterable {
        case graphql, rest
    }

    let api: API
    let endpoint: HTTPEndpoint
    let clients: Int
    let duration: Duration
    let tokens: AccessTokens
    let group: any EventLoopGroup

    struct Report: Encodable, Sendable {
        var api: String
        var clients: Int
        var pages: Int
        var durationSeconds: Double
        var pagesPerSecond: Double
        /// Failed pages by kind: `HTTP <status>`, `GraphQL errors`, or a transport error's kind.
        var errors: [String: Int]
        var latencyMs: LoadtestReport.Percentiles?

        var text: String {
            "\(api) product pages: \(pages) in \(String(format: "%.1f", durationSeconds)) s = \(String(format: "%.1f", pagesPerSecond))/s, "
                + "latency \(latencyMs?.text ?? "no samples"); errors \(errors)"
        }
    }

    func run() async throws -> Report {
        let sku = "PAGE-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36).uppercased()
        let setup = try await HTTPClientConnection.connect(to: endpoint, on: group)
        let admin = try await tokens.issue(subject: "\(sku)-admin", role: "admin").token
        let product = NewProduct(sku: sku, name: "Page load product", priceMinor: 1250, currency: "EUR", stock: 1_000_000)
        let created = try await setup.send(.POST, "/products", headers: [("Authorization", "Bearer \(admin)")], body: Array(try JSONEncoder().encode(product)))
        await setup.close()
        guard created.status == 201 else { throw LoadtestError("POST /products: HTTP \(created.status)") }

        let start = ContinuousClock.now
        let deadline = start + duration
        let results = try await withThrowingTaskGroup(of: ([Double], [String: Int]).self) { tasks in
            for client in 0..<clients {
                tasks.addTask { try await self.client(client, sku: sku, until: deadline) }
            }
            return try await tasks.reduce(into: ([Double](), [String: Int]())) { total, one in
                total.0 += one.0
                total.1.merge(one.1, uniquingKeysWith: +)
            }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        return Report(
            api: api.rawValue, clients: clients, pages: results.0.count, durationSeconds: elapsed,
            pagesPerSecond: elapsed > 0 ? Double(results.0.count) / elapsed : 0, errors: results.1, latencyMs: .init(results.0))
    }

    private func client(_ index: Int, sku: String, until deadline: ContinuousClock.Instant) async throws -> ([Double], [String: Int]) {
        let token = try await tokens.issue(subject: "\(sku)-customer-\(index)", role: "customer").token
        let authorization = ("Authorization", "Bearer \(token)")
        let query = #"{"query":"query($sku: String!) { product(sku: $sku) { sku name priceMinor currency stock } cart { status totalMinor lines { sku quantity product { stock } } } }","variables":{"sku":"\#(sku)"}}"#
        var connection = try await HTTPClientConnection.connect(to: endpoint, on: group)
        var latencies: [Double] = []
        var errors: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            let sent = ContinuousClock.now
            do {
                let failure: String?
                switch api {
                case .graphql:
                    let answer = try await connection.send(.POST, "/graphql", headers: [authorization], body: Array(query.utf8))
                    failure = answer.status != 200 ? "HTTP \(answer.status)" : (answer.body.readableBytesView.starts(with: Array(#"{"data""#.utf8))
                        && !String(decoding: answer.bytes, as: UTF8.self).contains(#""errors""#) ? nil : "GraphQL errors")
                case .rest:
                    let product = try await connection.send(.GET, "/products/\(sku)", headers: [authorization])
                    let cart = product.status == 200 ? try await connection.send(.GET, "/cart", headers: [authorization]) : product
                    failure = cart.status == 200 ? nil : "HTTP \(cart.status)"
                }
                if let failure { errors[failure, default: 0] += 1 } else { latencies.append((ContinuousClock.now - sent).seconds * 1000) }
            } catch let error as HTTPTransportError {
                errors[error.kind, default: 0] += 1
                await connection.close()
                connection = try await HTTPClientConnection.connect(to: endpoint, on: group)
            }
        }
        await connection.close()
        return (latencies, errors)
    }
}
