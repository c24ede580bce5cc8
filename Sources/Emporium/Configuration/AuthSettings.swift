import Auth
import Foundation
import Sodium

/// Accounts and tokens.
///
/// Keys: `AUTH_JWT_SECRET` (required by `api`: the HS256 key, at least 32 bytes),
/// `AUTH_JWT_ISSUER` (`emporium`), `AUTH_JWT_AUDIENCE` (`emporium-api`), `AUTH_ACCESS_TOKEN_TTL`
/// (`15m`), `AUTH_REFRESH_TOKEN_TTL` (`30d`), `AUTH_SESSION_MAX_LIFETIME` (`90d` after the login,
/// however often refreshed), `AUTH_REFRESH_REUSE_GRACE` (`10s`: a spent refresh token its own
/// client presents again within it gets another successor instead of revoking the session),
/// `AUTH_CODE_TTL` (`10m`: a verification code's
/// lifetime), `AUTH_CODE_ATTEMPTS` (5 wrong codes void it), `AUTH_CODE_MAX_FAILURES` (20 wrong codes
/// a day for one address, across codes), `AUTH_RESEND_COOLDOWN` (`1m`, doubling with each resend
/// of the day up to `AUTH_RESEND_COOLDOWN_MAX`, `1h`),
/// `AUTH_LOGIN_MAX_FAILURES_ACCOUNT` (5) and `AUTH_LOGIN_MAX_FAILURES_CLIENT` (20) within
/// `AUTH_LOGIN_WINDOW` (`15m`), `AUTH_UNVERIFIED_TTL` (`7d`: unverified accounts are purged after
/// it), `AUTH_PURGE_INTERVAL` (`1m`), `AUTH_PASSWORD_COST` (`interactive`: argon2id with 64 MiB;
/// `minimum` only for tests), `AUTH_ADMIN_EMAIL` and `AUTH_ADMIN_PASSWORD` (an admin account
/// created at start when both are set and the address is free).
struct AuthSettings: Sendable {
    var policy: AuthPolicy
    var purgeInterval: Duration
    var passwordCost: PasswordHasher.Cost
    var admin: (email: String, password: String)?

    init(environment: Environment, namespace: String) throws {
        var policy = AuthPolicy()
        policy.codeLifetime = try environment.duration("AUTH_CODE_TTL", default: policy.codeLifetime)
        policy.codeAttempts = try environment.integer("AUTH_CODE_ATTEMPTS", default: policy.codeAttempts, range: 1...100)
        policy.codeFailuresPerDay = try environment.integer("AUTH_CODE_MAX_FAILURES", default: policy.codeFailuresPerDay, range: 1...10_000)
        policy.resendCooldown = try environment.duration("AUTH_RESEND_COOLDOWN", default: policy.resendCooldown)
        policy.resendCooldownMaximum = try environment.duration("AUTH_RESEND_COOLDOWN_MAX", default: policy.resendCooldownMaximum)
        policy.refreshLifetime = try environment.duration("AUTH_REFRESH_TOKEN_TTL", default: policy.refreshLifetime)
        policy.sessionLifetime = try environment.duration("AUTH_SESSION_MAX_LIFETIME", default: policy.sessionLifetime)
        policy.refreshReuseGrace = try environment.duration("AUTH_REFRESH_REUSE_GRACE", default: policy.refreshReuseGrace)
        if policy.refreshReuseGrace > .seconds(60) {
            throw ConfigurationError(key: "AUTH_REFRESH_REUSE_GRACE", message: "at most 1m: a longer window lets a stolen token be used alongside")
        }
        policy.loginFailuresPerAccountClient = try environment.integer(
            "AUTH_LOGIN_MAX_FAILURES_ACCOUNT", default: policy.loginFailuresPerAccountClient, range: 1...10_000)
        policy.loginFailuresPerClient = try environment.integer(
            "AUTH_LOGIN_MAX_FAILURES_CLIENT", default: policy.loginFailuresPerClient, range: 1...1_000_000)
        policy.loginWindow = try environment.duration("AUTH_LOGIN_WINDOW", default: policy.loginWindow)
        policy.unverifiedLifetime = try environment.duration("AUTH_UNVERIFIED_TTL", default: policy.unverifiedLifetime)
        policy.redisPrefix = namespace
        for (key, value) in [
            ("AUTH_CODE_TTL", policy.codeLifetime), ("AUTH_REFRESH_TOKEN_TTL", policy.refreshLifetime),
            ("AUTH_SESSION_MAX_LIFETIME", policy.sessionLifetime),
            ("AUTH_LOGIN_WINDOW", policy.loginWindow), ("AUTH_RESEND_COOLDOWN", policy.resendCooldown),
            ("AUTH_RESEND_COOLDOWN_MAX", policy.resendCooldownMaximum),
        ] where value < .seconds(1) {
            throw ConfigurationError(key: key, message: "must be at least 1s")
        }
        self.policy = policy
        purgeInterval = try environment.duration("AUTH_PURGE_INTERVAL", default: .seconds(60))
        if purgeInterval < .milliseconds(100) { throw ConfigurationError(key: "AUTH_PURGE_INTERVAL", message: "must be at least 100ms") }
        passwordCost = try environment.parse("AUTH_PASSWORD_COST", default: "interactive") { text in
            switch text {
            case "interactive": return PasswordHasher.Cost.interactive
            case "minimum": return PasswordHasher.Cost.minimum
            default: throw ConfigurationError(key: "AUTH_PASSWORD_COST", message: "expected interactive or minimum, got \"\(text)\"")
            }
        }
        switch (environment.optionalString("AUTH_ADMIN_EMAIL"), environment.optionalString("AUTH_ADMIN_PASSWORD")) {
        case (nil, nil): admin = nil
        case (let email?, let password?):
            guard email.contains("@") else { throw ConfigurationError(key: "AUTH_ADMIN_EMAIL", message: "not an e-mail address") }
            guard password.count >= 10 else { throw ConfigurationError(key: "AUTH_ADMIN_PASSWORD", message: "at least 10 characters") }
            admin = (email, password)
        case (nil, _): throw ConfigurationError(key: "AUTH_ADMIN_EMAIL", message: "needed with AUTH_ADMIN_PASSWORD")
        case (_, nil): throw ConfigurationError(key: "AUTH_ADMIN_PASSWORD", message: "needed with AUTH_ADMIN_EMAIL")
        }
    }

    /// The token settings; only the API signs and checks tokens, so only it needs the secret.
    static func tokens(environment: Environment) throws -> AccessTokens.Settings {
        guard let secret = environment.optionalString("AUTH_JWT_SECRET") else {
            throw ConfigurationError(key: "AUTH_JWT_SECRET", message: "required: the key that signs access tokens (at least 32 bytes)")
        }
        guard secret.utf8.count >= AccessTokens.Settings.minimumSecretLength else {
            throw ConfigurationError(
                key: "AUTH_JWT_SECRET", message: "must be at least \(AccessTokens.Settings.minimumSecretLength) bytes, got \(secret.utf8.count)")
        }
        let lifetime = try environment.duration("AUTH_ACCESS_TOKEN_TTL", default: .seconds(900))
        guard lifetime >= .seconds(1) else { throw ConfigurationError(key: "AUTH_ACCESS_TOKEN_TTL", message: "must be at least 1s") }
        return AccessTokens.Settings(
            secret: Array(secret.utf8), issuer: environment.string("AUTH_JWT_ISSUER", default: "emporium"),
            audience: environment.string("AUTH_JWT_AUDIENCE", default: "emporium-api"), lifetime: lifetime)
    }
}
