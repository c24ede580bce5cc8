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
            let dimensions = [
                ("route", context.endpointPath ?? "unmatched"), ("method", request.method.rawValue), ("status", String(status)),
            ]
            Counter(label: "http_requests_total", dimensions: dimensions).increment()
            Timer(label: "http_request_duration_seconds", dimensions: dimensions).recordInterval(since: start)
            let elapsed = ContinuousClock.now - start
            context.logger.log(level: status >= 500 ? .error : .debug, "request", metadata: [
                "http.method": "\(request.method.rawValue)", "http.route": "\(context.endpointPath ?? "unmatched")",
                "http.status": "\(status)", "http.duration_ms": "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
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

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
