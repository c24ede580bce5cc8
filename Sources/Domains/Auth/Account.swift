public import Foundation

/// An account as the auth domain stores it (`auth.accounts`).
public struct Account: Sendable, Hashable {
    public enum Role: String, Sendable, Codable {
        case customer
        case admin
    }

    public var id: UUID
    public var email: String
    public var role: Role
    public var verifiedAt: Date?
    public var createdAt: Date

    public var isVerified: Bool { verifiedAt != nil }
}
