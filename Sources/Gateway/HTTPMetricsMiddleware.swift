public import Hummingbird
import Metrics

/// `http_requests_total` and `http_request_duration_seconds` by route (the pattern, not the
/// path, so ids do not explode the label set), method and status, errors included; and one access
/// log line per request (debug; 5xx at error), carrying the request and correlation ids.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            let route = context.endpointPath ?? "unmatched"
            let dimensions = [("route", route), ("method", request.method.rawValue), ("status", String(status))]
            Counter(label: "http_requests_total", dimensions: dimensions).increment()
            Timer(label: "http_request_duration_seconds", dimensions: dimensions).recordNanoseconds(nanoseconds)
            context.logger.log(level: status >= 500 ? .error : .debug, "request", metadata: [
                "http.method": "\(request.method.rawValue)", "http.route": "\(route)", "http.status": "\(status)",
                "http.duration_ms": "\(nanoseconds / 1_000_000)",
            ])
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}
