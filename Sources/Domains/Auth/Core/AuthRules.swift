public import DomainKit
public import Foundation

/// The auth domain's rules, with no I/O: what a verification attempt, a login and a refresh may
/// do, given the rows the store locked and the time. The store applies the outcome in the same
/// transaction; a refusal that must still write (a wrong code counts an attempt) is an outcome,
/// refused by the edge after the commit.
public enum AuthRules {
    // MARK: - Verification codes

    /// A pending code as the store holds it.
    public struct PendingCode: Sendable, Hashable {
        public var expiresAt: Date
        public var attempts: Int

        public init(expiresAt: Date, attempts: Int) {
            self.expiresAt = expiresAt
            self.attempts = attempts
        }
    }

    /// Six ASCII digits, for a valid address.
    public static func validate(_ attempt: VerificationAttempt) throws(DomainError) {
        let code = attempt.code
        guard Credentials.isEmail(Credentials.normalised(attempt.email)), code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber)
        else { throw .invalid("code", "6 digits, for the e-mail address it was sent to") }
    }

    public enum Verification: Sendable, Hashable {
        /// Mark the account verified, delete the code, announce it.
        case verified
        /// Count the attempt (`attempts`), or delete the code when `void`; then refuse with
        /// ``codeRefused``.
        case wrong(attempts: Int, void: Bool)
    }

    /// A code is usable while the account is unverified, the code unexpired and its tries not
    /// used up; `matches` says whether the attempt's code hashes to the stored one.
    public static func verify(
        accountVerified: Bool, code: PendingCode?, matches: Bool, policy: AuthPolicy, now: Date
    ) throws(DomainError) -> Verification {
        guard !accountVerified, let code, code.expiresAt > now, code.attempts < policy.codeAttempts else { throw noCode }
        guard matches else {
            let attempts = code.attempts + 1
            return .wrong(attempts: attempts, void: attempts >= policy.codeAttempts)
        }
        return .verified
    }

    /// A password-reset code is checked like a verification code, for an account that is
    /// verified (an unverified one verifies its address first).
    public static func resetPassword(
        accountVerified: Bool, code: PendingCode?, matches: Bool, policy: AuthPolicy, now: Date
    ) throws(DomainError) -> Verification {
        guard accountVerified else { throw noCode }
        return try verify(accountVerified: false, code: code, matches: matches, policy: policy, now: now)
    }

    /// What any failed verification answers (wrong, expired, used up or never sent, whether the
    /// address has an account or not), so the answer tells nothing about the address.
    public static let codeRefused = DomainError(
        .rejected, "The code is not valid for this address: wrong, expired or used up. Ask for a new one if it no longer works.",
        summary: "Code not accepted")

    /// Nothing to check the code against (no code, expired, used up, or the account verified
    /// already); answered as ``codeRefused`` like a wrong code.
    public static let noCode = DomainError(
        .gone, "There is no valid code for this address (expired, used up, or never sent). Ask for a new one.", summary: "No code pending")

    /// Wrong codes for the address in the last day (`failures`, whose window ends in `left`):
    /// past the cap every code is refused, the right one too, until the window ends.
    public static func admitCodeAttempt(failures: Int, left: Duration, policy: AuthPolicy) throws(DomainError) {
        guard failures >= policy.codeFailuresPerDay else { return }
        throw DomainError(
            .limited, "Too many wrong codes for this address; try again in \(seconds(left)) s.", retryAfter: .seconds(seconds(left)))
    }

    /// The cooldown a resend starts, when it is the `resends`-th in the day: 2, 4, 8, ... times
    /// the first one (which registration starts), up to the maximum.
    public static func resendCooldown(afterResends resends: Int, policy: AuthPolicy) -> Duration {
        let doublings = min(max(resends, 0), 30)
        return min(policy.resendCooldown * (1 << doublings), max(policy.resendCooldownMaximum, policy.resendCooldown))
    }

    /// A resend inside the cooldown.
    public static func resendTooSoon(retryAfter: Duration) -> DomainError {
        DomainError(.limited, "A code was sent a short while ago; try again in \(seconds(retryAfter)) s.", retryAfter: .seconds(seconds(retryAfter)))
    }

    // MARK: - Login

    /// Tokens only for a known, verified account whose password matched. Unknown addresses and
    /// wrong passwords get the same answer.
    public static func login(_ account: Account?, passwordMatches: Bool) throws(DomainError) -> Account {
        guard passwordMatches, let account else { throw .unauthorized("The e-mail address or the password is wrong.") }
        guard account.isVerified else {
            throw DomainError(.forbidden, "Verify the e-mail address with the code that was mailed first.", summary: "Not verified")
        }
        return account
    }

    /// What the throttle counted for a login attempt. The attempt itself is already counted in
    /// `accountClient` and `client` (so parallel guesses cannot all slip in before the counts
    /// move; a success takes it back); `accountFailures` counts failures from every client.
    public struct LoginCounts: Sendable, Hashable {
        public var accountClient: Int
        public var accountClientLeft: Duration
        public var client: Int
        public var clientLeft: Duration
        public var accountFailures: Int
        /// Since the account's last failure, if there was one in the window.
        public var sinceLastFailure: Duration?

        public init(
            accountClient: Int, accountClientLeft: Duration, client: Int, clientLeft: Duration, accountFailures: Int,
            sinceLastFailure: Duration?
        ) {
            self.accountClient = accountClient
            self.accountClientLeft = accountClientLeft
            self.client = client
            self.clientLeft = clientLeft
            self.accountFailures = accountFailures
            self.sinceLastFailure = sinceLastFailure
        }
    }

    /// A login attempt goes ahead unless this client failed too often for this account or for
    /// any, or the account is in backoff after many failures from everywhere. A client's limit is
    /// its own: the owner logging in from another client is never refused for it.
    public static func admitLogin(_ counts: LoginCounts, policy: AuthPolicy) throws(DomainError) {
        if counts.accountClient > policy.loginFailuresPerAccountClient {
            throw limited("Too many failed logins for this account from here", counts.accountClientLeft)
        }
        if counts.client > policy.loginFailuresPerClient { throw limited("Too many login attempts", counts.clientLeft) }
        let wait = loginBackoff(afterFailures: counts.accountFailures, policy: policy)
        if let since = counts.sinceLastFailure, since < wait {
            throw limited("Many logins for this account failed lately", wait - since)
        }
    }

    /// How long an attempt waits after the account's last failure, once it has `failures`.
    public static func loginBackoff(afterFailures failures: Int, policy: AuthPolicy) -> Duration {
        guard failures >= policy.loginBackoffAfter else { return .zero }
        let doublings = min(failures - policy.loginBackoffAfter, 30)
        return min(policy.loginBackoff * (1 << doublings), max(policy.loginBackoffMaximum, policy.loginBackoff))
    }

    private static func limited(_ what: String, _ left: Duration) -> DomainError {
        DomainError(.limited, "\(what); try again in \(seconds(left)) s.", retryAfter: .seconds(seconds(left)))
    }

    // MARK: - Refresh tokens

    /// A refresh token as the store holds it.
    public struct RefreshTokenState: Sendable, Hashable {
        public var expiresAt: Date
        public var spentAt: Date?
        /// The client that spent it.
        public var spentBy: String?
        public var revokedAt: Date?
        /// The login its family began with.
        public var sessionStartedAt: Date

        public init(expiresAt: Date, spentAt: Date?, spentBy: String? = nil, revokedAt: Date?, sessionStartedAt: Date) {
            self.expiresAt = expiresAt
            self.spentAt = spentAt
            self.spentBy = spentBy
            self.revokedAt = revokedAt
            self.sessionStartedAt = sessionStartedAt
        }
    }

    public enum Refresh: Sendable, Hashable {
        /// Mark it spent and issue a new pair in its family.
        case issue
        /// Spent moments ago by this same client: issue another pair in its family, revoke nothing.
        case reissue
        /// Refuse, saying why.
        case refuse(String)
        /// A token spent before is being used again: someone else holds the family. Revoke it all.
        case revokeFamily(String)
    }

    /// Spending a refresh token (`nil`: unknown) presented by `client`.
    public static func refresh(_ token: RefreshTokenState?, client: String, policy: AuthPolicy, now: Date) -> Refresh {
        guard let token else { return .refuse("The refresh token is not known.") }
        if token.revokedAt != nil { return .refuse("The refresh token was revoked; log in again.") }
        guard now < sessionEnd(startedAt: token.sessionStartedAt, policy: policy) else {
            return .refuse("The session began too long ago; log in again.")
        }
        if let spentAt = token.spentAt {
            if token.spentBy == client && now < spentAt.adding(policy.refreshReuseGrace) { return .reissue }
            return .revokeFamily("The refresh token was used before; every token of this session is revoked. Log in again.")
        }
        guard token.expiresAt > now else { return .refuse("The refresh token has expired; log in again.") }
        return .issue
    }

    /// When a session that began at `startedAt` ends, however often it is refreshed.
    public static func sessionEnd(startedAt: Date, policy: AuthPolicy) -> Date {
        startedAt.adding(policy.sessionLifetime)
    }

    /// A new refresh token's expiry: its own lifetime, cut short by its session's end.
    public static func refreshExpiry(sessionStartedAt: Date, policy: AuthPolicy, now: Date) -> Date {
        min(now.adding(policy.refreshLifetime), sessionEnd(startedAt: sessionStartedAt, policy: policy))
    }

    /// Whole seconds, at least one.
    static func seconds(_ duration: Duration) -> Int {
        max(1, Int(duration.timeInterval.rounded(.up)))
    }
}
