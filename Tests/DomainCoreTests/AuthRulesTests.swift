import AuthCore
import DomainKit
import Foundation
import Testing

/// The auth rules without Redis or a database: codes, logins, refresh tokens and the throttle,
/// with a test clock.
@Suite("Auth rules")
struct AuthRulesTests {
    let clock = ManualClock()
    let policy = AuthPolicy()

    func code(attempts: Int = 0, expiresIn seconds: Double = 600) -> AuthRules.PendingCode {
        AuthRules.PendingCode(expiresAt: clock.now.addingTimeInterval(seconds), attempts: attempts)
    }

    func verify(verified: Bool = false, _ code: AuthRules.PendingCode?, matches: Bool) -> Result<AuthRules.Verification, DomainError> {
        Result { () throws(DomainError) in
            try AuthRules.verify(accountVerified: verified, code: code, matches: matches, policy: policy, now: clock.now)
        }
    }

    @Test("a matching code verifies; a wrong one counts a try and the fifth voids it")
    func codes() {
        #expect(verify(code(), matches: true).success == .verified)
        #expect(verify(code(attempts: 0), matches: false).success == .wrong(attempts: 1, void: false))
        #expect(verify(code(attempts: 4), matches: false).success == .wrong(attempts: 5, void: true))
    }

    @Test("no code, an expired or used-up code, or a verified account: nothing to check against", arguments: [0, 1, 2, 3])
    func noCode(situation: Int) {
        let result = switch situation {
        case 0: verify(nil, matches: true)
        case 1: verify(code(expiresIn: -1), matches: true)
        case 2: verify(code(attempts: 5), matches: true)
        default: verify(verified: true, code(), matches: true)
        }
        #expect(result.failure == AuthRules.noCode)
    }

    @Test("the code's lifetime is measured on the clock")
    func expiry() {
        let pending = code(expiresIn: 600)
        clock.advance(by: .seconds(599))
        #expect(verify(pending, matches: true).success == .verified)
        clock.advance(by: .seconds(1))
        #expect(verify(pending, matches: true).failure?.kind == .gone)
    }

    @Test("login: unknown address and wrong password answer alike; an unverified account is told to verify")
    func login() {
        let account = Account(id: UUID(), email: "ada@example.com", role: .customer, verifiedAt: clock.now, createdAt: clock.now)
        var unverified = account
        unverified.verifiedAt = nil
        func login(_ account: Account?, _ matches: Bool) -> Result<Account, DomainError> {
            Result { () throws(DomainError) in try AuthRules.login(account, passwordMatches: matches) }
        }
        #expect(login(account, true).success == account)
        #expect(login(nil, true).failure == login(account, false).failure)
        #expect(login(nil, false).failure?.kind == .unauthorized)
        #expect(login(unverified, true).failure?.kind == .forbidden)
    }

    @Test("refresh: unknown, revoked and expired tokens are refused; a spent one revokes its family")
    func refresh() {
        let now = clock.now
        let fresh = AuthRules.RefreshTokenState(expiresAt: now.addingTimeInterval(60), spentAt: nil, revokedAt: nil, sessionStartedAt: now)
        #expect(AuthRules.refresh(fresh, client: "a", policy: policy, now: now) == .issue)
        #expect(AuthRules.refresh(nil, client: "a", policy: policy, now: now) == .refuse("The refresh token is not known."))
        var spent = fresh
        (spent.spentAt, spent.spentBy) = (now, "a")
        guard case .revokeFamily = AuthRules.refresh(spent, client: "b", policy: policy, now: now) else { Issue.record("reuse did not revoke"); return }
        var revoked = spent
        revoked.revokedAt = now
        guard case .refuse = AuthRules.refresh(revoked, client: "a", policy: policy, now: now) else {
            Issue.record("a revoked token was not refused")
            return
        }
        #expect(AuthRules.refresh(fresh, client: "a", policy: policy, now: now.addingTimeInterval(60)) == .refuse("The refresh token has expired; log in again."))
    }

    @Test("a spent token presented again by its own client within the grace gets another successor; from elsewhere or later it revokes")
    func reuseGrace() {
        var policy = policy
        policy.refreshReuseGrace = .seconds(10)
        let spentAt = clock.now
        let spent = AuthRules.RefreshTokenState(
            expiresAt: spentAt.addingTimeInterval(3_600), spentAt: spentAt, spentBy: "10.0.0.1", revokedAt: nil, sessionStartedAt: spentAt)
        #expect(AuthRules.refresh(spent, client: "10.0.0.1", policy: policy, now: spentAt) == .reissue)
        #expect(AuthRules.refresh(spent, client: "10.0.0.1", policy: policy, now: spentAt.addingTimeInterval(9.9)) == .reissue)
        for (client, later) in [("10.0.0.1", 10.0), ("10.0.0.2", 0.0), ("10.0.0.2", 5.0)] {
            guard case .revokeFamily = AuthRules.refresh(spent, client: client, policy: policy, now: spentAt.addingTimeInterval(later)) else {
                Issue.record("\(client) after \(later) s did not revoke")
                continue
            }
        }
        policy.refreshReuseGrace = .zero
        guard case .revokeFamily = AuthRules.refresh(spent, client: "10.0.0.1", policy: policy, now: spentAt) else {
            Issue.record("a zero grace still allowed reuse")
            return
        }
    }

    @Test("a session ends its fixed time after the login, however often refreshed; the last token's expiry is cut to it")
    func sessionLifetime() {
        var policy = policy
        (policy.sessionLifetime, policy.refreshLifetime) = (.seconds(90 * 86_400), .seconds(30 * 86_400))
        let login = clock.now
        let day = 86_400.0
        // Refreshed every day for 89 days: the latest token is fresh, and the session still ends on day 90.
        let latest = AuthRules.RefreshTokenState(
            expiresAt: login.addingTimeInterval(89 * day + 30 * day), spentAt: nil, revokedAt: nil, sessionStartedAt: login)
        #expect(AuthRules.refresh(latest, client: "a", policy: policy, now: login.addingTimeInterval(89 * day)) == .issue)
        #expect(AuthRules.refresh(latest, client: "a", policy: policy, now: login.addingTimeInterval(90 * day))
            == .refuse("The session began too long ago; log in again."))
        #expect(AuthRules.refreshExpiry(sessionStartedAt: login, policy: policy, now: login.addingTimeInterval(day)) == login.addingTimeInterval(31 * day))
        #expect(AuthRules.refreshExpiry(sessionStartedAt: login, policy: policy, now: login.addingTimeInterval(75 * day)) == login.addingTimeInterval(90 * day))
    }

    func counts(pair: Int = 1, client: Int = 1, failures: Int = 0, since: Duration? = nil) -> AuthRules.LoginCounts {
        AuthRules.LoginCounts(
            accountClient: pair, accountClientLeft: .milliseconds(1_200), client: client, clientLeft: .seconds(30), accountFailures: failures,
            sinceLastFailure: since)
    }

    func admitted(_ counts: AuthRules.LoginCounts) -> DomainError? {
        Result { () throws(DomainError) in try AuthRules.admitLogin(counts, policy: policy) }.failure
    }

    @Test("a client past its failures for one account, or for all, waits out the window; Retry-After in whole seconds")
    func throttle() {
        #expect(admitted(counts(pair: 5)) == nil)
        let pair = admitted(counts(pair: 6))
        #expect(pair?.kind == .limited && pair?.retryAfter == .seconds(2))
        #expect(admitted(counts(client: 21))?.retryAfter == .seconds(30))
    }

    @Test("failures from everywhere slow the account down, doubling up to a minute, and never block it")
    func backoff() {
        #expect(AuthRules.loginBackoff(afterFailures: 9, policy: policy) == .zero)
        #expect(AuthRules.loginBackoff(afterFailures: 10, policy: policy) == .seconds(1))
        #expect(AuthRules.loginBackoff(afterFailures: 13, policy: policy) == .seconds(8))
        #expect(AuthRules.loginBackoff(afterFailures: 10_000, policy: policy) == .seconds(60))
        // However many failures, an attempt after the wait goes ahead.
        #expect(admitted(counts(failures: 10_000, since: .seconds(60))) == nil)
        let early = admitted(counts(failures: 12, since: .milliseconds(1_500)))
        #expect(early?.kind == .limited && early?.retryAfter == .seconds(3))
        #expect(admitted(counts(failures: 9, since: .zero)) == nil)
        // The first wait and the most it grows to are settings.
        var slower = policy
        slower.loginBackoff = .seconds(10)
        slower.loginBackoffMaximum = .seconds(45)
        #expect(AuthRules.loginBackoff(afterFailures: 10, policy: slower) == .seconds(10))
        #expect(AuthRules.loginBackoff(afterFailures: 11, policy: slower) == .seconds(20))
        #expect(AuthRules.loginBackoff(afterFailures: 12, policy: slower) == .seconds(40))
        #expect(AuthRules.loginBackoff(afterFailures: 13, policy: slower) == .seconds(45))
        // A first wait above the maximum is not cut below itself (as the resend cooldown).
        slower.loginBackoffMaximum = .seconds(5)
        #expect(AuthRules.loginBackoff(afterFailures: 14, policy: slower) == .seconds(10))
    }

    @Test("credentials: a new password follows the password rules; a login only needs one")
    func credentials() {
        func fields(_ email: String, _ password: String, new: Bool) -> [String] {
            do {
                try Credentials(email: email, password: password).validate(newPassword: new)
                return []
            } catch { return error.fields.map(\.description) }
        }
        #expect(fields("ada@example.com", "short", new: true) == ["password: at least 10 characters"])
        #expect(fields("ada@example.com", "short", new: false).isEmpty)
        #expect(fields("not-an-address", "", new: false) == ["email: not an e-mail address", "password: 1 to 1024 bytes"])
        #expect(Credentials(email: "  Ada@Example.COM ", password: "").normalisedEmail == "ada@example.com")
    }
}

@Suite("Verification code limits")
struct CodeLimitTests {
    let policy = AuthPolicy()

    @Test("wrong codes across codes are capped for the day; the right code too is refused past the cap")
    func failuresCap() {
        #expect(Result { () throws(DomainError) in try AuthRules.admitCodeAttempt(failures: 19, left: .seconds(10), policy: policy) }.failure == nil)
        let capped = Result { () throws(DomainError) in try AuthRules.admitCodeAttempt(failures: 20, left: .seconds(3_600), policy: policy) }.failure
        #expect(capped?.kind == .limited && capped?.retryAfter == .seconds(3_600))
    }

    @Test("each resend of the day doubles the cooldown, up to the maximum")
    func resendBackoff() {
        let cooldowns = (0...8).map { AuthRules.resendCooldown(afterResends: $0, policy: policy) }
        #expect(cooldowns == [60, 120, 240, 480, 960, 1_920, 3_600, 3_600, 3_600].map { Duration.seconds($0) })
    }
}
