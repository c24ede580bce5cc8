@_exported public import DomainKit
import Hummingbird

/// The one place a ``DomainError`` becomes an HTTP answer.
extension Problem {
    public init(_ error: DomainError) {
        let (status, title): (HTTPResponse.Status, String) = switch error.kind {
        case .notFound: (.notFound, "Not found")
        case .conflict: (.conflict, "Conflict")
        case .invalid: (.unprocessableContent, "The request is not valid")
        case .forbidden: (.forbidden, "Forbidden")
        case .unauthorized: (.unauthorized, "Unauthorized")
        case .busy: (.conflict, "Request in progress")
        case .gone: (.gone, "Gone")
        case .limited: (.tooManyRequests, "Too many requests")
        case .rejected: (.badRequest, "Bad request")
        case .stale: (.preconditionFailed, "Precondition failed")
        default: (.badRequest, "Bad request")
        }
        var extensions: [String: ProblemValue] = error.details.mapValues {
            switch $0 {
            case .string(let value): .string(value)
            case .int(let value): .int(value)
            case .strings(let value): .strings(value)
            }
        }
        if !error.fields.isEmpty { extensions["errors"] = .strings(error.fields.map(\.description)) }
        var headers: HTTPFields = [:]
        if let retryAfter = error.retryAfter {
            headers[.retryAfter] = String(max(1, Int(retryAfter.timeInterval.rounded(.up))))
        }
        self.init(status, error.summary ?? title, detail: error.message, extensions: extensions, headers: headers)
    }
}
