import CatalogCore
import Foundation
public import HTTPRuntime
public import Hummingbird

/// `/products`: admins create, change and delete; anyone lists and reads (from the replica).
public struct CatalogRoutes<Context: IdentifiedRequestContext>: Sendable {
    let store: CatalogStore

    public init(store: CatalogStore) {
        self.store = store
    }

    public func register(on router: Router<Context>) {
        let products = router.group("products")
        products.post(use: create)
        products.get(use: list)
        products.get(":sku", use: show)
        products.patch(":sku", use: update)
        products.post(":sku/stock-adjustments", use: adjustStock)
        products.delete(":sku", use: delete)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let product = try await request.decodeJSON(NewProduct.self, context: context)
        try product.validate()
        let created = try await store.create(product, cause: cause(context))
        return try jsonResponse(created, status: .created, headers: [.location: "/products/\(created.sku)", .eTag: Self.eTag(created)])
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = ProductQuery()
        query.limit = try request.queryInteger("limit", default: 20, range: 1...100)
        query.after = parameters.get("cursor")
        query.search = parameters.get("q").flatMap { $0.isEmpty ? nil : $0 }
        query.currency = parameters.get("currency")
        if let currency = query.currency, !ProductRules.isCurrency(currency) {
            throw Problem.badRequest("The query parameter \"currency\" must be three capital letters.")
        }
        if parameters.get("minPrice") != nil {
            query.minimumPrice = Int64(try request.queryInteger("minPrice", default: 0, range: 0...Int(Int32.max) * 50))
        }
        if parameters.get("maxPrice") != nil {
            query.maximumPrice = Int64(try request.queryInteger("maxPrice", default: 0, range: 0...Int(Int32.max) * 50))
        }
        switch parameters.get("inStock") {
        case nil, "false": query.inStockOnly = false
        case "true": query.inStockOnly = true
        default: throw Problem.badRequest("The query parameter \"inStock\" must be true or false.")
        }
        return try jsonResponse(try await store.products(query))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let sku = try context.parameters.require("sku")
        guard let product = try await store.product(sku) else { throw CatalogStore.notFound(sku) }
        return try jsonResponse(product, headers: [.eTag: Self.eTag(product)])
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let sku = try context.parameters.require("sku")
        let expected = try Self.expectedTags(request)
        let changes = try await request.decodeJSON(ProductChanges.self, context: context)
        try changes.validate()
        let updated = try await store.update(sku, changes, expected: expected, cause: cause(context))
        return try jsonResponse(updated, headers: [.eTag: Self.eTag(updated)])
    }

    @Sendable func adjustStock(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let sku = try context.parameters.require("sku")
        let adjustment = try await request.decodeJSON(StockAdjustment.self, context: context)
        try adjustment.validate()
        let adjusted = try await store.adjustStock(sku, adjustment, cause: cause(context))
        return try jsonResponse(adjusted, headers: [.eTag: Self.eTag(adjusted)])
    }

    static func eTag(_ product: Product) -> String { "\"\(ProductTag(product))\"" }

    /// `If-Match`, which a change must carry: the tags the client read (nil for `*`). A weak or
    /// malformed tag matches nothing (RFC 9110 compares If-Match strongly).
    static func expectedTags(_ request: Request) throws -> [ProductTag]? {
        let values = request.headers[values: .ifMatch]
        guard !values.isEmpty else {
            throw Problem(
                .preconditionRequired, "Precondition required",
                detail: "Send If-Match with the ETag of the product as you read it (GET /products/{sku}), or use "
                    + "POST /products/{sku}/stock-adjustments to change the stock by a number of units.")
        }
        let items = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        if items.contains("*") { return nil }
        return items.compactMap { item in
            guard item.count >= 2, item.hasPrefix("\""), item.hasSuffix("\"") else { return nil }
            return ProductTag(item.dropFirst().dropLast())
        }
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let sku = try context.parameters.require("sku")
        try await store.delete(sku, cause: cause(context))
        return Response(status: .noContent)
    }

    private func cause(_ context: Context) -> CatalogStore.Cause {
        CatalogStore.Cause(requestID: context.requestID, correlationID: context.correlationID, traceParent: context.traceParent)
    }
}
