/// What a domain can refuse, in its own terms. HTTP problem documents, gRPC status codes and
/// GraphQL errors are renderings of it at the edges (one place each), so a rule is written and
/// unit-tested once, whatever API asked.
public struct DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal: extensible, so adding one breaks no `switch` outside this module.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        enum Value: Sendable, Hashable {
            case notFound, conflict, invalid, forbidden, unauthorized, busy, gone, limited, rejected, stale
        }
        let value: Value

        /// No such thing, or none the caller may see (the two are not told apart).
        public static let notFound = Kind(value: .notFound)
        /// The thing's state does not allow it now (an order already paid, a cart locked).
        public static let conflict = Kind(value: .conflict)
        /// The input breaks a rule; ``DomainError/fields`` says which.
        public static let invalid = Kind(value: .invalid)
        /// The caller is known and may not do this.
        public static let forbidden = Kind(value: .forbidden)
        /// No caller, where one is needed.
        public static let unauthorized = Kind(value: .unauthorized)
        /// The same request is being worked on; ask again after ``DomainError/retryAfter``.
        public static let busy = Kind(value: .busy)
        /// It existed and is no longer usable (a code expired or used up).
        public static let gone = Kind(value: .gone)
        /// Too many attempts for now; ask again after ``DomainError/retryAfter``.
        public static let limited = Kind(value: .limited)
        /// Well-formed, and wrong (a code that does not match).
        public static let rejected = Kind(value: .rejected)
        /// The caller's copy is out of date: the change was based on a version that is no longer
        /// the current one (read it again, then decide).
        public static let stale = Kind(value: .stale)

        public var description: String { "\(value)" }
    }

    /// One invalid field and why.
    public struct FieldError: Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var reason: String
        public init(_ field: String, _ reason: String) {
            self.field = field
            self.reason = reason
        }
        /// `field: reason`, or the reason alone for a refusal of the input as a whole.
        public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
    }

    /// A value that helps a client act on the error (the order's `status`, the unknown `skus`).
    public enum Detail: Sendable, Hashable {
        case string(String)
        case int(Int)
        case strings([String])
    }

    public var kind: Kind
    /// For the person reading it: what is wrong and, where it helps, what to do.
    public var message: String
    /// A short summary when the kind's own would mislead (`Idempotency-Key reused`).
    public var summary: String?
    public var fields: [FieldError]
    public var details: [String: Detail]
    public var retryAfter: Duration?

    public init(
        _ kind: Kind, _ message: String, summary: String? = nil, fields: [FieldError] = [], details: [String: Detail] = [:],
        retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.message = message
        self.summary = summary
        self.fields = fields
        self.details = details
        self.retryAfter = retryAfter
    }

    public static func notFound(_ message: String) -> DomainError { DomainError(.notFound, message) }
    public static func conflict(_ message: String, details: [String: Detail] = [:]) -> DomainError {
        DomainError(.conflict, message, details: details)
    }
    public static func forbidden(_ message: String) -> DomainError { DomainError(.forbidden, message) }
    public static func unauthorized(_ message: String) -> DomainError { DomainError(.unauthorized, message) }
    /// One entry per invalid field; the message lists them all.
    public static func invalid(_ fields: [FieldError], details: [String: Detail] = [:]) -> DomainError {
        DomainError(.invalid, fields.map(\.description).joined(separator: "; "), fields: fields, details: details)
    }
    public static func invalid(_ field: String, _ reason: String, details: [String: Detail] = [:]) -> DomainError {
        invalid([FieldError(field, reason)], details: details)
    }

    public var description: String { "\(kind): \(message)" }
}

/// Collects the invalid fields of an input, so that a client learns every one at once.
public struct Validation: Sendable {
    public private(set) var errors: [DomainError.FieldError] = []

    public init() {}

    /// Records `reason` for `field` unless `condition` holds.
    public mutating func require(_ condition: Bool, _ field: String, _ reason: @autoclosure () -> String) {
        if !condition { errors.append(DomainError.FieldError(field, reason())) }
    }

    /// Throws ``DomainError/invalid(_:details:)`` with every recorded field, if any.
    public func check() throws(DomainError) {
        if !errors.isEmpty { throw DomainError.invalid(errors) }
    }
}
