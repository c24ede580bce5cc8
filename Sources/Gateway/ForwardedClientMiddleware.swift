import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// Behind a reverse proxy the peer is the proxy: with `API_TRUST_FORWARDED_FOR=true`, the client
/// is the address the proxy appended last to `X-Forwarded-For` (earlier entries come from the
/// client and prove nothing). Only for an API reachable through the proxy alone.
public struct ForwardedClientMiddleware: RouterMiddleware {
    public typealias Context = GatewayContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[HTTPField.Name("X-Forwarded-For")!],
              let last = header.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty, last.utf8.count <= 64
        else { return try await next(request, context) }
        var context = context
        context.clientAddress = last
        return try await next(request, context)
    }
}
