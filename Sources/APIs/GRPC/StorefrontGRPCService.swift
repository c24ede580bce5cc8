public import Catalog
import CatalogCore
import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging
public import Ordering

/// `emporium.storefront.v1.StorefrontService`: a product page (the product with its stock, the
/// customer's cart with each line's product and stock) in one call and three statements (the
/// product, the cart, the lines' products), as GraphQL's product page query.
public struct StorefrontGRPCService: Emporium_Storefront_V1_StorefrontService.ServiceProtocol {
    let catalog: CatalogStore
    let carts: CartService
    let callers: GRPCCallers
    let logger: Logger

    public init(catalog: CatalogStore, carts: CartService, callers: GRPCCallers, logger: Logger) {
        self.catalog = catalog
        self.carts = carts
        self.callers = callers
        self.logger = logger
    }

    public func getProductPage(
        request: ServerRequest<Emporium_Storefront_V1_GetProductPageRequest>, context: ServerContext
    ) async throws -> ServerResponse<Emporium_Storefront_V1_ProductPage> {
        let caller = try await callers.caller(request.metadata)
        let customer = try GRPCCallers.customer(request.message.customerID, caller: caller)
        let sku = request.message.sku
        let (product, cart, products) = try await RPCErrors.mapped(logger) {
            async let product = catalog.product(sku)
            let cart = try await carts.view(of: customer)
            let products = try await catalog.products(Set(cart.lines.map(\.sku)))
            return (try await product, cart, products)
        }
        guard let product else { throw RPCError(code: .notFound, message: "There is no product \(sku).") }
        return ServerResponse(message: .with { page in
            page.product = Self.message(product)
            page.cart = .with {
                $0.status = cart.status.rawValue
                $0.totalMinor = cart.totalMinor ?? 0
                $0.currency = cart.currency ?? ""
                $0.lines = cart.lines.map { line in
                    .with {
                        $0.sku = line.sku
                        $0.name = line.name ?? ""
                        $0.quantity = Int32(clamping: line.quantity)
                        $0.unitPriceMinor = line.unitPriceMinor
                        $0.currency = line.currency
                        $0.lineTotalMinor = line.lineTotalMinor
                        if let product = products[line.sku] { $0.product = Self.message(product) }
                    }
                }
            }
        })
    }

    static func message(_ product: Product) -> Emporium_Storefront_V1_Product {
        .with {
            $0.sku = product.sku
            $0.name = product.name
            $0.description_p = product.description
            $0.priceMinor = product.priceMinor
            $0.currency = product.currency
            $0.stock = Int32(clamping: product.stock)
            $0.version = Int64(product.version)
        }
    }
}
