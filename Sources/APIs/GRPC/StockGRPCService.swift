public import Catalog
import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging

/// `emporium.stock.v1.StockService` over the catalog's store: the stock of many SKUs in one
/// statement. Any authenticated caller may ask.
public struct StockGRPCService: Emporium_Stock_V1_StockService.ServiceProtocol {
    let catalog: CatalogStore
    let callers: GRPCCallers
    let logger: Logger

    public init(catalog: CatalogStore, callers: GRPCCallers, logger: Logger) {
        self.catalog = catalog
        self.callers = callers
        self.logger = logger
    }

    /// SKUs per call at most.
    static let mostSKUs = 1000

    public func getStock(
        request: ServerRequest<Emporium_Stock_V1_GetStockRequest>, context: ServerContext
    ) async throws -> ServerResponse<Emporium_Stock_V1_GetStockResponse> {
        _ = try await callers.caller(request.metadata)
        let asked = request.message.skus
        guard asked.count <= Self.mostSKUs else {
            throw RPCError(code: .invalidArgument, message: "At most \(Self.mostSKUs) SKUs per call, got \(asked.count).")
        }
        var seen = Set<String>()
        let skus = asked.filter { seen.insert($0).inserted }
        let products = try await RPCErrors.mapped(logger) { try await catalog.products(Set(skus)) }
        var response = Emporium_Stock_V1_GetStockResponse()
        for sku in skus {
            if let product = products[sku] {
                response.levels.append(.with {
                    $0.sku = sku
                    $0.available = Int32(clamping: product.stock)
                    $0.version = Int64(product.version)
                })
            } else {
                response.missing.append(sku)
            }
        }
        return ServerResponse(message: response)
    }
}
