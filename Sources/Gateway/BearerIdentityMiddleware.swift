public import Auth
public import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// Establishes the caller from `Authorization: Bearer <JWT>`: signature, `exp`, `nbf`, `iss` and
/// `aud` are checked, and a token that fails any check is a 401 at once (not an anonymous
/// request). Without the header the request is anonymous; routes that need a caller say 401.
/// `/auth/*` ignores the header: those routes need no caller, and a client sending its expired
/// access token along with a refresh must still be able to refresh.
public struct BearerIdentityMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    let tokens: AccessTokens

    public init(tokens: AccessTokens) {
        self.tokens = tokens
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], !request.uri.path.hasPrefix("/auth/") else {
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem(
                .unauthorized, "Unauthorized", detail: "Authorization must be \"Bearer <access token>\".",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        var context = context
        context.caller = try await tokens.caller(fromBearer: String(parts[1]))
        return try await next(request, context)
    }
}
