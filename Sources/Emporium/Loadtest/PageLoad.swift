import Auth
import Catalog
import Foundation
import NIOCore
import NIOHTTP1

/// `emporium loadtest --page graphql|rest|grpc`: a storefront's product page (the product with its
/// stock, and the signed-in customer's cart with each line's stock), requested by concurrent
/// clients for a while, as fast as answered. Over GraphQL it is one POST /graphql; over gRPC one
/// StorefrontService.GetProductPage; over REST the same data takes GET /products/{sku} then GET
/// /cart. With `--stock grpc|rest`, a stock lookup of 10 SKUs instead: one StockService.GetStock,
/// or GET /products/{sku} for each. Reports pages (lookups) per second and their latency, so
/// `make bench` can put one against the other.
struct PageLoad: Sendable {
    enum API: String, Sendable, CaseIterable {
        case graphql, rest, grpc
    }

    enum Lookup: Sendable {
        case productPage
        /// The stock of `StockLookup.skus` SKUs.
        case stock
    }

    static let stockSKUs = 10

    let api: API
    let lookup: Lookup
    let endpoint: HTTPEndpoint
    /// `emporium grpc`'s address, for `.grpc`.
    let grpcTarget: (host: String, port: Int)?
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
            "\(api) \(api.hasSuffix("stock") ? "lookups of \(PageLoad.stockSKUs) SKUs" : "product pages"): \(pages) in \(String(format: "%.1f", durationSeconds)) s = \(String(format: "%.1f", pagesPerSecond))/s, "
                + "latency \(latencyMs?.text ?? "no samples"); errors \(errors)"
        }
    }

    func run() async throws -> Report {
        let sku = "PAGE-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36).uppercased()
        let setup = try await HTTPClientConnection.connect(to: endpoint, on: group)
        let admin = try await tokens.issue(subject: "\(sku)-admin", role: "admin").token
        for index in 0..<(lookup == .stock ? Self.stockSKUs : 1) {
            let product = NewProduct(
                sku: Self.sku(sku, index), name: "Page load product", priceMinor: 1250, currency: "EUR", stock: 1_000_000)
            let created = try await setup.send(
                .POST, "/products", headers: [("Authorization", "Bearer \(admin)")], body: Array(try JSONEncoder().encode(product)))
            guard created.status == 201 else { throw LoadtestError("POST /products: HTTP \(created.status)") }
        }
        await setup.close()

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
            api: lookup == .stock ? "\(api.rawValue) stock" : api.rawValue, clients: clients, pages: results.0.count, durationSeconds: elapsed,
            pagesPerSecond: elapsed > 0 ? Double(results.0.count) / elapsed : 0, errors: results.1, latencyMs: .init(results.0))
    }

    static func sku(_ base: String, _ index: Int) -> String { index == 0 ? base : "\(base)-\(index)" }

    private func client(_ index: Int, sku: String, until deadline: ContinuousClock.Instant) async throws -> ([Double], [String: Int]) {
        if api == .grpc {
            guard let grpcTarget else { throw LoadtestError("--grpc-target is needed for grpc") }
            let token = try await tokens.issue(subject: "\(sku)-customer-\(index)", role: "customer").token
            let skus = (0..<(lookup == .stock ? Self.stockSKUs : 1)).map { Self.sku(sku, $0) }
            return try await GRPCLoad.run(
                host: grpcTarget.host, port: grpcTarget.port, token: token, productPage: lookup == .productPage, skus: skus, until: deadline)
        }
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
                case .rest where lookup == .stock:
                    var status = 200
                    for index in 0..<Self.stockSKUs where status == 200 {
                        status = try await connection.send(.GET, "/products/\(Self.sku(sku, index))", headers: [authorization]).status
                    }
                    failure = status == 200 ? nil : "HTTP \(status)"
                case .grpc:
                    preconditionFailure("gRPC clients run in GRPCLoad (see the top of this function)")
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
