import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// Behind a reverse proxy the peer is the proxy. When the peer is one of `API_TRUSTED_PROXIES`,
/// the client is the right-most `X-Forwarded-For` address that is not a trusted proxy (see
/// ``TrustedProxies/client(peer:forwardedFor:)``); from any other peer the header is ignored.
public struct ForwardedClientMiddleware: RouterMiddleware {
    public typealias Context = GatewayContext

    let trusted: TrustedProxies

    public init(trusted: TrustedProxies) {
        self.trusted = trusted
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let values = request.headers[values: HTTPField.Name("X-Forwarded-For")!]
        guard !values.isEmpty, trusted.contains(context.clientAddress) else { return try await next(request, context) }
        let entries = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() }
        var context = context
        context.clientAddress = trusted.client(peer: context.clientAddress, forwardedFor: entries)
        return try await next(request, context)
    }
}
