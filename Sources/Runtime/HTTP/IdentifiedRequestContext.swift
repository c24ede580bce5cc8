public import Hummingbird

/// A request context that knows the caller and the request's ids. The gateway's context
/// conforms; domain routes are written against this protocol.
public protocol IdentifiedRequestContext: RequestContext {
    var caller: Caller? { get set }
    /// From `X-Request-Id`, or generated: the cause recorded for what the request changes.
    var requestID: String { get set }
    /// From `X-Correlation-Id`, else the request id: carried into every message the request causes.
    var correlationID: String { get set }
    /// The W3C `traceparent` of this request's span (a child of the client's, or a new trace):
    /// carried, a span further each hop, into every message the request causes.
    var traceParent: String { get set }
    /// The client's address as the server sees it (a trusted proxy's `X-Forwarded-For` applied):
    /// what per-client limits count against.
    var clientAddress: String { get }
}

extension IdentifiedRequestContext {
    /// The caller, or 401.
    public func requireCaller() throws -> Caller {
        guard let caller else {
            throw Problem(.unauthorized, "Unauthorized", detail: "This route needs a signed-in caller.")
        }
        return caller
    }

    /// The caller if an admin: 401 without one, 403 for anyone else.
    public func requireAdmin() throws -> Caller {
        let caller = try requireCaller()
        guard caller.isAdmin else {
            throw Problem(.forbidden, "Forbidden", detail: "This route is for admins.")
        }
        return caller
    }
}
