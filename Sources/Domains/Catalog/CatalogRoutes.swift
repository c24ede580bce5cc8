import CatalogCore
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
        products.delete(":sku", use: delete)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let product = try await request.decodeJSON(NewProduct.self, context: context)
        try product.validate()
        let created = try await store.create(product, cause: cause(context))
        return try jsonResponse(created, status: .created, headers: [.location: "/products/\(created.sku)"])
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
        return try jsonResponse(product)
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let sku = try context.parameters.require("sku")
        let changes = try await request.decodeJSON(ProductChanges.self, context: context)
        try changes.validate()
        return try jsonResponse(try await store.update(sku, changes, cause: cause(context)))
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
