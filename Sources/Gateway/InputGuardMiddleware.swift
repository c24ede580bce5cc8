import Foundation
public import HTTPRuntime
public import Hummingbird

/// Refuses a path or query carrying a NUL character (`%00`) with 400: no identifier or text
/// column accepts one, and the database would otherwise refuse it as a server error.
public struct InputGuardMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let target = (request.uri.path.removingPercentEncoding ?? request.uri.path) + (request.uri.query?.removingPercentEncoding ?? "")
        guard !target.unicodeScalars.contains("\u{0}") else {
            throw Problem.badRequest("The path or query contains a NUL character (%00).")
        }
        return try await next(request, context)
    }
}
