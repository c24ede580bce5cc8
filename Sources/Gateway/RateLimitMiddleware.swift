import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// Applies ``RateLimiter`` to every request but the health checks, the metrics and the API
/// document. The client is the caller's account when there is one, else the peer's address.
/// Every limited answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and
/// `RateLimit-Policy`; a request over the limit gets 429 with `Retry-After`.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = GatewayContext
    let limiter: RateLimiter

    public init(limiter: RateLimiter) {
        self.limiter = limiter
    }

    static let exempt: Set<String> = ["/health/live", "/health/ready", "/metrics", "/openapi.json"]
    /// Reads whatever their method: `/graphql` serves queries only (a POST is how most clients
    /// send them), so it counts against the read limit.
    static let reads: Set<String> = ["/graphql"]

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard !Self.exempt.contains(path) else { return try await next(request, context) }
        let routeClass: RateLimiter.RouteClass =
            path.hasPrefix("/auth/") ? .auth : (request.method == .get || request.method == .head || Self.reads.contains(path) ? .read : .write)
        let client = context.caller.map { "account:\($0.id)" } ?? "ip:\(context.clientAddress)"
        guard let decision = await limiter.take(routeClass, client: client) else { return try await next(request, context) }
        var fields: HTTPFields = [:]
        fields[HTTPField.Name("RateLimit-Limit")!] = String(decision.rule.limit)
        fields[HTTPField.Name("RateLimit-Remaining")!] = String(decision.remaining)
        fields[HTTPField.Name("RateLimit-Reset")!] = String(decision.reset)
        fields[HTTPField.Name("RateLimit-Policy")!] = "\(decision.rule.limit);w=\(decision.rule.windowSeconds)"
        guard decision.allowed else {
            fields[.retryAfter] = String(decision.reset)
            throw Problem(
                .tooManyRequests, "Too many requests",
                detail: "At most \(decision.rule.limit) \(routeClass.name) requests per \(decision.rule.windowSeconds) s; try again in \(decision.reset) s.",
                headers: fields)
        }
        var response = try await next(request, context)
        for field in fields { response.headers.append(field) }
        return response
    }
}
