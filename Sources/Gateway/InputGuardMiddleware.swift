import Foundation
public import HTTPRuntime
public import Hummingbird

/// Refuses a path or query carrying a NUL character (`%00`) with 400: no identifier or text
/// column accepts one, and the database would otherwise refuse it as a server error.
///
/// Refuses a body whose declared length is over the context's `maxUploadSize` with 413 before
/// any handler runs, once the body has been read and dropped (up to `drainLimit`): a client
/// that sends its whole body before reading the answer (Python's urllib, which also sends
/// `Connection: close`) would otherwise wait for its own time-out on a server that no longer
/// reads. A larger body gets its 413 and `Connection: close` at once.
public struct InputGuardMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    let drainLimit: Int

    public init(drainLimit: Int = 16 * 1024 * 1024) {
        self.drainLimit = drainLimit
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let target = (request.uri.path.removingPercentEncoding ?? request.uri.path) + (request.uri.query?.removingPercentEncoding ?? "")
        guard !target.unicodeScalars.contains("\u{0}") else {
            throw Problem.badRequest("The path or query contains a NUL character (%00).")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            var tooLarge = Problem(.contentTooLarge, "Content too large", detail: "Bodies are limited to \(context.maxUploadSize) bytes.")
            if length <= drainLimit {
                for try await _ in request.body {}
            } else {
                tooLarge.headers[.connection] = "close"
            }
            throw tooLarge
        }
        return try await next(request, context)
    }
}
