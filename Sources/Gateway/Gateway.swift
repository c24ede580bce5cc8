public import Catalog
import HTTPRuntime
public import Hummingbird
public import Logging
import Observability
public import Ordering

/// `emporium api`: the routes of every domain behind the gateway's middleware.
public enum Gateway {
    /// The router: request ids first (so every answer, errors included, carries them), then
    /// problem documents for every error, HTTP metrics, the caller's identity, and the routes.
    public static func router(
        catalog: CatalogStore, orders: OrderService, ready: @escaping @Sendable () async -> Bool
    ) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: HeaderIdentityMiddleware())
        addObservabilityRoutes(to: router, ready: ready)
        CatalogRoutes(store: catalog).register(on: router)
        OrderRoutes(service: orders).register(on: router)
        return router
    }
}
