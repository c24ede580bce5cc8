import Foundation
import GRPCAPI
import GRPCCore
import GRPCNIOTransportHTTP2

/// One `emporium loadtest --page grpc` (or `--stock grpc`) client: a gRPC connection of its own,
/// calls one after another until the deadline; the calls' latencies and failures by status code.
enum GRPCLoad {
    static func run(
        host: String, port: Int, token: String, productPage: Bool, skus: [String], until deadline: ContinuousClock.Instant
    ) async throws -> ([Double], [String: Int]) {
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext)) { client in
            let metadata: Metadata = ["authorization": "Bearer \(token)"]
            let storefront = Emporium_Storefront_V1_StorefrontService.Client(wrapping: client)
            let stock = Emporium_Stock_V1_StockService.Client(wrapping: client)
            var latencies: [Double] = []
            var errors: [String: Int] = [:]
            while ContinuousClock.now < deadline {
                let sent = ContinuousClock.now
                do {
                    if productPage {
                        _ = try await storefront.getProductPage(.with { $0.sku = skus[0] }, metadata: metadata)
                    } else {
                        let levels = try await stock.getStock(.with { $0.skus = skus }, metadata: metadata)
                        guard levels.levels.count == skus.count else {
                            errors["missing SKUs", default: 0] += 1
                            continue
                        }
                    }
                    latencies.append((ContinuousClock.now - sent).seconds * 1000)
                } catch let error as RPCError {
                    errors["\(error.code)", default: 0] += 1
                }
            }
            return (latencies, errors)
        }
    }
}
