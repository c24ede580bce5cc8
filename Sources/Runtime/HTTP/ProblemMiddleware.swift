public import Hummingbird
import Logging

/// Answers every error as a problem document: ``Problem`` as it is, a ``DomainError`` rendered by
/// ``Problem/init(_:)``, Hummingbird's own errors
/// (404 for an unknown route, 413 for a body over the limit) with their status, what `translate`
/// makes of the rest (the gateway: a database out of reach is a 503), and anything else as a 500
/// whose detail names only the request id (the error itself goes to the log).
public struct ProblemMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    let translate: @Sendable (any Error) -> Problem?

    public init(translate: @escaping @Sendable (any Error) -> Problem? = { _ in nil }) {
        self.translate = translate
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as DomainError {
            return try Problem(error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let title = error.status.reasonPhrase
            let detail = (error as? HTTPError)?.body ?? title
            return try Problem(error.status, title, detail: detail).response(from: request, context: context)
        } catch {
            if let problem = translate(error) {
                context.logger.warning("request failed", metadata: ["error": "\(error)", "request.id": "\(context.requestID)"])
                return try problem.response(from: request, context: context)
            }
            context.logger.error("request failed", metadata: ["error": "\(error)", "request.id": "\(context.requestID)"])
            return try Problem(
                .internalServerError, "Internal server error", detail: "The request failed; its id is \(context.requestID).")
                .response(from: request, context: context)
        }
    }
}
