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
        let code = try await newCode(for: stored.account, template: .verification, policy: policy, on: connection)
        try await context.publish(code.mail, key: code.key, to: Destinations.mail(code.mail), aggregate: "mail:\(context.envelope.idString)")
        try await context.publish(
            code.expiry, key: code.key, to: .amqp(Destinations.codeExpiryKey, delay: policy.codeLifetime), aggregate: "code-expiry:\(code.key)")
    }

    /// A code mailed with `template`: its row (replacing any earlier code of the account), its
    /// mail command and its expiry, for the caller to publish in the same transaction.
    static func newCode(
        for account: Account, template: MailSend.Template, policy: AuthPolicy, on connection: PostgresConnection
    ) async throws -> (key: String, mail: MailSend, expiry: VerificationCodeExpiryDue) {
        let code = SecureRandom.digits(6)
        let codeHash = AuthStore.codeHash(code, accountID: account.id)
        try await AuthStore.replaceCode(accountID: account.id, codeHash: codeHash, lifetime: policy.codeLifetime, on: connection)
        let minutes = max(1, Int(policy.codeLifetime.timeInterval / 60))
        let key = account.id.uuidString.lowercased()
        let mail = MailSend(template: template, customerID: key, to: account.email, data: ["code": code, "expiresInMinutes": String(minutes)])
        return (key, mail, VerificationCodeExpiryDue(accountID: account.id, codeHash: codeHash))
    }

    /// Deletes the code if it is still the one the expiry was set for.
    static func expire(_ event: VerificationCodeExpiryDue, context: MessageContext) async throws {
        try await context.connection.execute("""
            DELETE FROM auth.verification_codes WHERE account_id = \(event.accountID) AND code_hash = \(event.codeHash)
            """)
    }
}
