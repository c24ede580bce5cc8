import Contracts
public import DomainKit
import Foundation
import Messaging
import Postgres

/// What an account's owner does to it: change the password (knowing it), reset it (by a mailed
/// code), delete the account. Each ends every other session and mails the owner.
extension AuthService {
    /// `POST /me/password`: a new password for the caller's account, given its current one
    /// (throttled like a login). Every session ends; the caller gets a new pair.
    public func changePassword(_ change: PasswordChange, caller: Caller, origin: RequestOrigin) async throws -> TokenPair {
        try change.validate()
        let stored = try await ownAccount(caller)
        try await confirmPassword(change.currentPassword, of: stored, origin: origin)
        let hash = try await passwords.hash(change.newPassword)
        let now = clock.now
        return try await database.withTransaction { connection in
            try await setPassword(hash, of: stored.account, why: "password change", origin: origin, on: connection)
            return try await issue(for: stored.account, family: UUID(), sessionStartedAt: now, now: now, on: connection)
        }
    }

    /// `POST /auth/password-reset`: a code by mail to a verified account's address, within the
    /// resend limits of verification codes. The answer is the same for any address.
    public func requestPasswordReset(_ request: PasswordResetRequest, origin: RequestOrigin) async throws {
        let email = Credentials.normalised(request.email)
        guard Credentials.isEmail(email) else { throw DomainError.invalid("email", "not an e-mail address") }
        try await codes.resend(email: email, purpose: .passwordReset)
        try await database.withTransaction { connection in
            guard let stored = try await AuthStore.account(email: email, on: connection), stored.account.isVerified else { return }
            let code = try await AccountLifecycle.newCode(for: stored.account, template: .passwordReset, policy: policy, on: connection)
            try await Self.append(code.mail, key: code.key, to: Destinations.mail(code.mail), origin: origin, secret: true, on: connection)
            try await Self.append(
                code.expiry, key: code.key, to: .amqp(Destinations.codeExpiryKey, delay: policy.codeLifetime), origin: origin, on: connection)
        }
    }

    /// `POST /auth/password-reset/confirm`: the mailed code sets a new password; refusals as
    /// for verification codes (one answer, counted against the address).
    public func resetPassword(_ reset: PasswordReset, origin: RequestOrigin) async throws {
        try reset.validate()
        let email = Credentials.normalised(reset.email)
        let hash = try await passwords.hash(reset.newPassword)
        _ = try await spendCode(reset.code, email: email, rule: AuthRules.resetPassword) { [self] account, connection in
            try await setPassword(hash, of: account, why: "password reset", origin: origin, on: connection)
        }
    }

    /// `DELETE /me`: the caller's account, given its password. Its orders stay (they name the
    /// account's id, nothing else); `user.deleted` makes the mail worker forget the address.
    public func deleteAccount(_ deletion: AccountDeletion, caller: Caller, origin: RequestOrigin) async throws {
        let stored = try await ownAccount(caller)
        try await confirmPassword(deletion.password, of: stored, origin: origin)
        let account = stored.account
        try await database.withTransaction { connection in
            // Its codes and refresh tokens go with it (ON DELETE CASCADE).
            try await connection.execute("DELETE FROM auth.accounts WHERE id = \(account.id)")
            try await Self.publish(UserDeleted(accountID: account.id), accountID: account.id, origin: origin, on: connection)
            try await Self.mail(.accountDeleted, to: account, origin: origin, on: connection)
        }
    }

    // MARK: - Helpers

    private func ownAccount(_ caller: Caller) async throws -> AuthStore.StoredAccount {
        guard let id = UUID(uuidString: caller.id), let stored = try await database.withPrimary({ try await AuthStore.account(id: id, on: $0) })
        else { throw DomainError.notFound("The account of this token no longer exists.") }
        return stored
    }

    /// The account's password, checked with the login's throttle (a stolen access token must not
    /// become a way to guess the password).
    private func confirmPassword(_ password: String, of stored: AuthStore.StoredAccount, origin: RequestOrigin) async throws {
        let email = stored.account.email
        try await throttle.take(email: email, client: origin.client)
        guard try await passwords.verify(password, against: stored.passwordHash) else {
            await throttle.failed(email: email)
            throw DomainError.forbidden("The password does not match.")
        }
        await throttle.succeeded(email: email, client: origin.client)
    }

    private func setPassword(_ hash: String, of account: Account, why: String, origin: RequestOrigin, on connection: PostgresConnection) async throws {
        try await connection.execute("UPDATE auth.accounts SET password_hash = \(hash), updated_at = now() WHERE id = \(account.id)")
        try await AuthStore.revokeSessions(of: account.id, why: why, on: connection)
        try await Self.mail(.passwordChanged, to: account, origin: origin, on: connection)
    }

    static func mail(_ template: MailSend.Template, to account: Account, origin: RequestOrigin, on connection: PostgresConnection) async throws {
        let key = account.id.uuidString.lowercased()
        let command = MailSend(template: template, customerID: key, to: account.email)
        try await append(command, key: key, to: Destinations.mail(command), origin: origin, on: connection)
    }

    static func append<Payload: MessagePayload>(
        _ payload: Payload, key: String, to destination: MessageDestination, origin: RequestOrigin, secret: Bool = false,
        on connection: PostgresConnection
    ) async throws {
        let envelope = try MessageEnvelope(
            payload, key: key, correlationID: origin.correlationID, causationID: origin.requestID,
            traceParent: TracePropagation.outgoing(parent: origin.traceParent))
        try await Outbox.append(OutboxMessage(envelope, to: destination, secret: secret), on: connection)
    }
}
