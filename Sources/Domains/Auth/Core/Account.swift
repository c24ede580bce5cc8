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

    public init(id: UUID, email: String, role: Role, verifiedAt: Date?, createdAt: Date) {
        self.id = id
        self.email = email
        self.role = role
        self.verifiedAt = verifiedAt
        self.createdAt = createdAt
    }

    public var isVerified: Bool { verifiedAt != nil }
}
