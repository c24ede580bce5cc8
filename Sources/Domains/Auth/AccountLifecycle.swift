import DomainKit
import Contracts
import Foundation
import Logging
public import Messaging
import Postgres
import Sodium

/// The auth worker's handlers: a code for every registration and resend, mailed through
/// `mail.send`, and voided by a delayed `auth.code-expiry` when its lifetime is over.
public enum AccountLifecycle {
    public static func handlers(policy: AuthPolicy) -> MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(UserRegistered.self) { event, context in
            try await issueCode(accountID: event.accountID, policy: policy, context: context)
        }
        handlers.on(VerificationRequested.self) { event, context in
            try await issueCode(accountID: event.accountID, policy: policy, context: context)
        }
        handlers.on(VerificationCodeExpiryDue.self, expire)
        return handlers
    }

    /// A fresh code (replacing any earlier one) for an account still unverified, its mail, and
    /// its expiry. A verified or purged account gets nothing.
    static func issueCode(accountID: UUID, policy: AuthPolicy, context: MessageContext) async throws {
        let connection = context.connection
        guard let stored = try await AuthStore.account(id: accountID, forUpdate: true, on: connection), !stored.account.isVerified else { return }
        let code = SecureRandom.digits(6)
        let codeHash = AuthStore.codeHash(code, accountID: accountID)
        try await AuthStore.replaceCode(accountID: accountID, codeHash: codeHash, lifetime: policy.codeLifetime, on: connection)
        let minutes = max(1, Int(policy.codeLifetime.timeInterval / 60))
        let key = accountID.uuidString.lowercased()
        try await context.publish(
            MailSend(
                template: .verification, customerID: key, to: stored.account.email,
                data: ["code": code, "expiresInMinutes": String(minutes)]),
            key: key, to: Destinations.mail, aggregate: "mail:\(context.envelope.idString)")
        try await context.publish(
            VerificationCodeExpiryDue(accountID: accountID, codeHash: codeHash), key: key,
            to: .amqp(Destinations.codeExpiryKey, delay: policy.codeLifetime), aggregate: "code-expiry:\(key)")
    }

    /// Deletes the code if it is still the one the expiry was set for.
    static func expire(_ event: VerificationCodeExpiryDue, context: MessageContext) async throws {
        try await context.connection.execute("""
            DELETE FROM auth.verification_codes WHERE account_id = \(event.accountID) AND code_hash = \(event.codeHash)
            """)
    }
}
