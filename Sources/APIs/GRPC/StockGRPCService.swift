public import Catalog
import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging

/// `emporium.stock.v1.StockService` over the catalog's store: the stock of many SKUs in one
/// statement, and a stream of their changes (``StockWatch``). Any authenticated caller may ask.
public struct StockGRPCService: Emporium_Stock_V1_StockService.ServiceProtocol {
    let catalog: CatalogStore
    let callers: GRPCCallers
    let logger: Logger
    let watch: StockWatch

    public init(catalog: CatalogStore, callers: GRPCCallers, logger: Logger, watch: StockWatch? = nil) {
        self.catalog = catalog
        self.callers = callers
        self.logger = logger
        self.watch = watch ?? StockWatch(catalog: catalog)
    }

    /// SKUs one WatchStock call may watch.
    static let mostWatched = 100

    public func watchStock(
        request: ServerRequest<Emporium_Stock_V1_WatchStockRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Emporium_Stock_V1_StockLevel> {
        _ = try await callers.caller(request.metadata)
        let skus = Set(request.message.skus)
        guard (1...Self.mostWatched).contains(skus.count) else {
            throw RPCError(code: .invalidArgument, message: "Watch 1 to \(Self.mostWatched) SKUs, got \(skus.count).")
        }
        let (watch, logger) = (self.watch, self.logger)
        return StreamingServerResponse { writer in
            // Until the call ends: its end cancels the loop, which stops watching.
            do {
                try await RPCErrors.mapped(logger) {
                    for await levels in await watch.watch(skus) {
                        for level in levels {
                            try await writer.write(.with {
                                $0.sku = level.sku
                                $0.available = Int32(clamping: level.available)
                                $0.version = Int64(level.version)
                                $0.deleted = level.deleted
                            })
                        }
                    }
                }
            } catch let error as RPCError where error.code == .deadlineExceeded {
                // The deadline ends a watch as a client would: it was never going to end otherwise.
            }
            return [:]
        }
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
