public import Foundation
public import Messaging

/// `user.registered` on the user topic, keyed by account id: the auth worker mails a
/// verification code; the mail worker learns where the customer's mail goes.
public struct UserRegistered: MessagePayload, Hashable {
    public static let messageType = "user.registered"
    public var accountID: UUID
    public var email: String
    public init(accountID: UUID, email: String) {
        self.accountID = accountID
        self.email = email
    }
}

/// `user.verification-requested`: the customer asked for a new code (after the resend cooldown).
public struct VerificationRequested: MessagePayload, Hashable {
    public static let messageType = "user.verification-requested"
    public var accountID: UUID
    public init(accountID: UUID) { self.accountID = accountID }
}

/// `user.verified`.
public struct UserVerified: MessagePayload, Hashable {
    public static let messageType = "user.verified"
    public var accountID: UUID
    public var email: String
    public init(accountID: UUID, email: String) {
        self.accountID = accountID
        self.email = email
    }
}

/// `user.deleted`: an account never verified was purged; copies of it go too.
public struct UserDeleted: MessagePayload, Hashable {
    public static let messageType = "user.deleted"
    public var accountID: UUID
    public init(accountID: UUID) { self.accountID = accountID }
}

/// `auth.code-expiry` (delayed, RabbitMQ): the code issued at `issuedAt` is no longer valid.
public struct VerificationCodeExpiryDue: MessagePayload, Hashable {
    public static let messageType = "auth.code-expiry"
    public var accountID: UUID
    /// Which code: a newer one (a resend) is left alone.
    public var codeHash: String
    public init(accountID: UUID, codeHash: String) {
        self.accountID = accountID
        self.codeHash = codeHash
    }
}
