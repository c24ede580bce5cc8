public import Auth
import DomainKit
import Foundation
import GRPCCore

/// Who is calling, from the `authorization` metadata: `Bearer <access token>` (a customer or an
/// admin, checked as the REST API checks it) or `Bearer <service token>` (``GRPCSettings``). No
/// credentials, or wrong ones: UNAUTHENTICATED.
public struct GRPCCallers: Sendable {
    let tokens: AccessTokens
    let serviceToken: String?

    public init(tokens: AccessTokens, serviceToken: String?) {
        self.tokens = tokens
        self.serviceToken = serviceToken
    }

    /// A service token's caller: may act for any customer.
    static let service = Caller(id: "service:grpc", role: .admin)

    func caller(_ metadata: Metadata) async throws -> Caller {
        guard let value = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
            throw RPCError(code: .unauthenticated, message: "Send authorization: Bearer <token> (an access token or the service token).")
        }
        guard value.lowercased().hasPrefix("bearer ") else {
            throw RPCError(code: .unauthenticated, message: "The authorization metadata must be a bearer token.")
        }
        let token = String(value.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        if let serviceToken, Self.constantTimeEqual(token, serviceToken) { return Self.service }
        do {
            return try await tokens.caller(fromBearer: token)
        } catch {
            throw RPCError(code: .unauthenticated, message: "The token is not valid.")
        }
    }

    /// The customer a call is about: a customer's own (naming another: PERMISSION_DENIED); a
    /// service's or admin's must be named.
    static func customer(_ named: String, caller: Caller) throws -> String {
        if caller.isAdmin {
            guard !named.isEmpty else { throw RPCError(code: .invalidArgument, message: "customer_id: required for a service caller.") }
            return named
        }
        guard named.isEmpty || named == caller.id else {
            throw RPCError(code: .permissionDenied, message: "A customer reads and places their own orders and cart only.")
        }
        return caller.id
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
