public import Auth
public import DomainRuntime
import HTTPRuntime
public import Hummingbird
import Logging
import Postgres
public import Observability

/// `emporium api`: the routes of every domain behind the gateway's middleware.
public enum Gateway {
    /// What the router is built from.
    public struct Services: Sendable {
        /// Every domain's routes (``DomainModule/api``).
        public var routes: [any DomainRoutes]
        /// Checks the bearer tokens of every request (the auth domain's keys).
        public var tokens: AccessTokens
        public var limiter: RateLimiter?
        public var readiness: [HealthCheck]
        /// The proxies whose `X-Forwarded-For` names the client (none: the peer is the client).
        public var trustedProxies: TrustedProxies
        /// Whether `/metrics` and `/health/*` are served with the API (false: on a port of their own).
        public var observabilityRoutes = true

        public init(
            routes: [any DomainRoutes], tokens: AccessTokens, limiter: RateLimiter?, readiness: [HealthCheck],
            trustedProxies: TrustedProxies = .none
        ) {
            self.routes = routes
            self.tokens = tokens
            self.limiter = limiter
            self.readiness = readiness
            self.trustedProxies = trustedProxies
        }
    }

    /// The router: the request's span, then its ids (so every answer, errors included, carries them), HTTP
    /// metrics (which see the final status), problem documents for every error, the caller's
    /// identity, the rate limits (per caller once known), and the routes.
    /// A database out of reach (a primary restarting, a failover) is a 503 with Retry-After: the
    /// client should try again (with the same Idempotency-Key), not take it as its request's fault.
    static func unavailable(_ error: any Error) -> Problem? {
        guard let error = error as? PostgresError, PostgresOutage.isOutage(error) else { return nil }
        return Problem(
            .serviceUnavailable, "Service unavailable", detail: "The database is out of reach for a moment; try again shortly.",
            headers: [.retryAfter: "1"])
    }

    public static func router(_ services: Services) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        // The server span first (a no-op unless span export is configured), so what follows runs in it.
        router.add(middleware: TracingMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ProblemMiddleware(translate: unavailable))
        router.add(middleware: InputGuardMiddleware())
        if !services.trustedProxies.isEmpty { router.add(middleware: ForwardedClientMiddleware(trusted: services.trustedProxies)) }
        router.add(middleware: BearerIdentityMiddleware(tokens: services.tokens))
        if let limiter = services.limiter { router.add(middleware: RateLimitMiddleware(limiter: limiter)) }
        if services.observabilityRoutes { addObservabilityRoutes(to: router, checks: services.readiness) }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
        }
        for routes in services.routes { routes.register(on: router) }
        return router
    }
}
