public import Auth
public import Catalog
import HTTPRuntime
public import Hummingbird
import Logging
public import Mailing
public import Observability
public import Ordering

/// `emporium api`: the routes of every domain behind the gateway's middleware.
public enum Gateway {
    /// What the routes need.
    public struct Services: Sendable {
        public var auth: AuthService
        public var tokens: AccessTokens
        public var catalog: CatalogStore
        public var orders: OrderService
        public var carts: CartService
        public var administration: OrderAdministration
        public var notifications: NotificationFeed
        public var limiter: RateLimiter?
        public var readiness: [HealthCheck]
        /// The proxies whose `X-Forwarded-For` names the client (none: the peer is the client).
        public var trustedProxies: TrustedProxies

        public init(
            auth: AuthService, tokens: AccessTokens, catalog: CatalogStore, orders: OrderService, carts: CartService,
            administration: OrderAdministration,
            notifications: NotificationFeed, limiter: RateLimiter?, readiness: [HealthCheck], trustedProxies: TrustedProxies = .none
        ) {
            self.carts = carts
            self.administration = administration
            self.notifications = notifications
            self.trustedProxies = trustedProxies
            self.auth = auth
            self.tokens = tokens
            self.catalog = catalog
            self.orders = orders
            self.limiter = limiter
            self.readiness = readiness
        }
    }

    /// The router: the request's span, then its ids (so every answer, errors included, carries them), HTTP
    /// metrics (which see the final status), problem documents for every error, the caller's
    /// identity, the rate limits (per caller once known), and the routes.
    public static func router(_ services: Services) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        // The server span first (a no-op unless span export is configured), so what follows runs in it.
        router.add(middleware: TracingMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: InputGuardMiddleware())
        if !services.trustedProxies.isEmpty { router.add(middleware: ForwardedClientMiddleware(trusted: services.trustedProxies)) }
        router.add(middleware: BearerIdentityMiddleware(tokens: services.tokens))
        if let limiter = services.limiter { router.add(middleware: RateLimitMiddleware(limiter: limiter)) }
        addObservabilityRoutes(to: router, checks: services.readiness)
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
        }
        AuthRoutes(service: services.auth, clientAddress: { _, context in context.clientAddress }).register(on: router)
        CatalogRoutes(store: services.catalog).register(on: router)
        OrderRoutes(service: services.orders).register(on: router)
        CartRoutes(service: services.carts).register(on: router)
        AdminOrderRoutes(administration: services.administration).register(on: router)
        NotificationRoutes(feed: services.notifications).register(on: router)
        return router
    }
}
