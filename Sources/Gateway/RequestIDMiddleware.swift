import ConnectionPool
import Foundation
import Messaging
public import HTTPRuntime
public import Hummingbird
public import HTTPTypes

/// Gives every request an id (the client's `X-Request-Id` if it is sensible, else a new UUID), a
/// correlation id (`X-Correlation-Id`, else the request id) and a W3C trace context (a span in
/// the client's `traceparent` trace, else a new trace); puts them in the log metadata, and returns
/// the ids and the `traceparent` as response headers.
public struct RequestIDMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    public static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-Id")! }
    public static var correlationIDHeader: HTTPField.Name { HTTPField.Name("X-Correlation-Id")! }
    public static var traceParentHeader: HTTPField.Name { HTTPField.Name("traceparent")! }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.sensible(request.headers[Self.requestIDHeader]) ?? UUID.random().lowercasedText
        context.correlationID = Self.sensible(request.headers[Self.correlationIDHeader]) ?? context.requestID
        context.logger[metadataKey: "request.id"] = .string(context.requestID)
        context.logger[metadataKey: "correlation.id"] = .string(context.correlationID)
        // The server span's traceparent when spans are recorded, else a new span in the client's trace.
        context.traceParent = TracePropagation.outgoing(parent: request.headers[Self.traceParentHeader])
        if let trace = TraceParent(context.traceParent) { context.logger[metadataKey: "trace.id"] = .string(trace.traceID) }
        var response = try await next(request, context)
        response.headers[Self.requestIDHeader] = context.requestID
        response.headers[Self.correlationIDHeader] = context.correlationID
        response.headers[Self.traceParentHeader] = context.traceParent
        return response
    }

    /// A client's id is kept if it is short printable ASCII; anything else is replaced.
    static func sensible(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
              value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        return value
    }
}
