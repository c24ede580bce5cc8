public import AuthCore
public import DomainRuntime
import Foundation
public import Sodium

/// Accounts and tokens. Keys: ``AuthKeys``; their defaults are ``AuthPolicy``'s.
public struct AuthSettings: Sendable {
    public var policy: AuthPolicy
    public var purgeInterval: Duration
    public var passwordCost: PasswordHasher.Cost
    public var admin: (email: String, password: String)?

    public init(settings reader: SettingsReader, namespace: String) throws {
        let keys = AuthKeys()
        var policy = AuthPolicy()
        policy.codeLifetime = try reader.value(keys.codeLifetime)
        policy.codeAttempts = try reader.value(keys.codeAttempts)
        policy.codeFailuresPerDay = try reader.value(keys.codeFailuresPerDay)
        policy.resendCooldown = try reader.value(keys.resendCooldown)
        policy.resendCooldownMaximum = try reader.value(keys.resendCooldownMaximum)
        policy.refreshLifetime = try reader.value(keys.refreshLifetime)
        policy.sessionLifetime = try reader.value(keys.sessionLifetime)
        policy.refreshReuseGrace = try reader.value(keys.refreshReuseGrace)
        policy.loginFailuresPerAccountClient = try reader.value(keys.loginFailuresPerAccountClient)
        policy.loginFailuresPerClient = try reader.value(keys.loginFailuresPerClient)
        policy.loginWindow = try reader.value(keys.loginWindow)
        policy.loginBackoff = try reader.value(keys.loginBackoff)
        policy.loginBackoffMaximum = try reader.value(keys.loginBackoffMaximum)
        policy.unverifiedLifetime = try reader.value(keys.unverifiedLifetime)
        policy.redisPrefix = namespace
        self.policy = policy
        purgeInterval = try reader.value(keys.purgeInterval)
        passwordCost = try reader.value(keys.passwordCost)
        switch (try reader.value(keys.adminEmail), try reader.value(keys.adminPassword)) {
        case (nil, nil): admin = nil
        case (let email?, let password?):
            guard email.contains("@") else { throw ConfigurationError(key: keys.adminEmail.name, message: "not an e-mail address") }
            guard password.count >= 10 else { throw ConfigurationError(key: keys.adminPassword.name, message: "at least 10 characters") }
            admin = (email, password)
        case (nil, _): throw ConfigurationError(key: keys.adminEmail.name, message: "needed with \(keys.adminPassword.name)")
        case (_, nil): throw ConfigurationError(key: keys.adminPassword.name, message: "needed with \(keys.adminEmail.name)")
        }
    }

    /// The token settings; only the API signs and checks tokens, so only it needs the secret.
    public static func tokens(settings reader: SettingsReader) throws -> AccessTokens.Settings {
        let keys = AuthKeys()
        guard let secret = try reader.value(keys.jwtSecret) else {
            throw ConfigurationError(key: keys.jwtSecret.name, message: "required: the key that signs access tokens (at least 32 bytes)")
        }
        guard secret.utf8.count >= AccessTokens.Settings.minimumSecretLength else {
            throw ConfigurationError(
                key: keys.jwtSecret.name, message: "must be at least \(AccessTokens.Settings.minimumSecretLength) bytes, got \(secret.utf8.count)")
        }
        return AccessTokens.Settings(
            secret: Array(secret.utf8), issuer: try reader.value(keys.jwtIssuer), audience: try reader.value(keys.jwtAudience),
            lifetime: try reader.value(keys.accessTokenLifetime))
    }
}

public struct AuthKeys: SettingGroup {
    public var title: String { "Accounts" }

    public init() {}
    private static let policy = AuthPolicy()

    public let jwtSecret = Setting.optionalText(
        "AUTH_JWT_SECRET", defaultText: "(required by api and loadtest)", secrecy: .whole,
        meaning: "the HS256 key of access tokens, at least 32 bytes. `make run` generates one into `.local/secrets.env`")
    public let jwtIssuer = Setting.text("AUTH_JWT_ISSUER", default: "emporium", meaning: "set in tokens; one without it is refused (checked at a token's first use in each process)")
    public let jwtAudience = Setting.text("AUTH_JWT_AUDIENCE", default: "emporium-api", meaning: "set in tokens; one without it is refused (checked at a token's first use in each process)")
    public let accessTokenLifetime = Setting.duration(
        "AUTH_ACCESS_TOKEN_TTL", default: .seconds(900), atLeast: .seconds(1), meaning: "an access token's lifetime")
    public let refreshLifetime = Setting.duration(
        "AUTH_REFRESH_TOKEN_TTL", default: policy.refreshLifetime, atLeast: .seconds(1), meaning: "a refresh token's lifetime")
    public let sessionLifetime = Setting.duration(
        "AUTH_SESSION_MAX_LIFETIME", default: policy.sessionLifetime, atLeast: .seconds(1),
        meaning: "a session (a login and every refresh after it) ends this long after the login, however often it is refreshed")
    public let refreshReuseGrace = Setting.duration(
        "AUTH_REFRESH_REUSE_GRACE", default: policy.refreshReuseGrace, atMost: .seconds(60),
        because: "a longer window lets a stolen token be used alongside",
        meaning: "`0s` turns it off: a spent refresh token presented again by the client that spent it, this soon, gets another "
            + "successor (a retry, two tabs at once); from another client or later, reuse revokes the whole session")
    public let codeLifetime = Setting.duration(
        "AUTH_CODE_TTL", default: policy.codeLifetime, atLeast: .seconds(1), meaning: "a verification code's lifetime")
    public let codeAttempts = Setting.integer("AUTH_CODE_ATTEMPTS", default: policy.codeAttempts, in: 1...100, meaning: "wrong tries that void a code")
    public let codeFailuresPerDay = Setting.integer(
        "AUTH_CODE_MAX_FAILURES", default: policy.codeFailuresPerDay, in: 1...10_000,
        meaning: "wrong codes a day for one address, across codes (a resend does not buy more guesses); past it every code gets "
            + "429 until the day's window ends")
    public let resendCooldown = Setting.duration(
        "AUTH_RESEND_COOLDOWN", default: policy.resendCooldown, atLeast: .seconds(1),
        meaning: "before the first resend for one address (registration starts it); each resend of the day doubles it (Redis `SET NX PX`)")
    public let resendCooldownMaximum = Setting.duration(
        "AUTH_RESEND_COOLDOWN_MAX", default: policy.resendCooldownMaximum, atLeast: .seconds(1),
        meaning: "the most the resend cooldown grows to")
    public let loginFailuresPerAccountClient = Setting.integer(
        "AUTH_LOGIN_MAX_FAILURES_ACCOUNT", default: policy.loginFailuresPerAccountClient, in: 1...10_000,
        meaning: "failed logins for one address from one client within the window before that client gets 429 (the owner, from "
            + "elsewhere, is not refused); after ten failures from all clients each attempt waits `AUTH_LOGIN_BACKOFF`, doubling up to "
            + "`AUTH_LOGIN_BACKOFF_MAX`, after the last failure")
    public let loginFailuresPerClient = Setting.integer(
        "AUTH_LOGIN_MAX_FAILURES_CLIENT", default: policy.loginFailuresPerClient, in: 1...1_000_000,
        meaning: "failed logins per client within the window before 429")
    public let loginWindow = Setting.duration(
        "AUTH_LOGIN_WINDOW", default: policy.loginWindow, atLeast: .seconds(1), meaning: "the failed-login window")
    public let loginBackoff = Setting.duration(
        "AUTH_LOGIN_BACKOFF", default: policy.loginBackoff, atLeast: .seconds(1),
        meaning: "after ten failed logins for one address from all clients, how long the next attempt waits after the last failure; "
            + "each further failure doubles it. A slowdown, never a lock: the owner gets in once it has passed")
    public let loginBackoffMaximum = Setting.duration(
        "AUTH_LOGIN_BACKOFF_MAX", default: policy.loginBackoffMaximum, atLeast: .seconds(1), meaning: "the most the login backoff grows to")
    public let unverifiedLifetime = Setting.duration(
        "AUTH_UNVERIFIED_TTL", default: policy.unverifiedLifetime,
        meaning: "the auth worker deletes accounts never verified after this (with `user.deleted`)")
    public let purgeInterval = Setting.duration(
        "AUTH_PURGE_INTERVAL", default: .seconds(60), atLeast: .milliseconds(100), meaning: "how often the auth worker purges")
    public let passwordCost = Setting<PasswordHasher.Cost>.choice(
        "AUTH_PASSWORD_COST", default: "interactive", ["interactive": .interactive, "minimum": .minimum],
        meaning: "argon2id's cost: `interactive` is 2 passes over 64 MiB; `minimum` for tests only")
    public let adminEmail = Setting.optionalText(
        "AUTH_ADMIN_EMAIL", meaning: "with `AUTH_ADMIN_PASSWORD`, `api` creates that admin account at start if the address is free "
            + "(`make run`: `admin@emporium.local`)")
    public let adminPassword = Setting.optionalText(
        "AUTH_ADMIN_PASSWORD", secrecy: .whole,
        meaning: "the bootstrap admin's password, at least 10 characters. `make run` generates one into `.local/secrets.env` and prints it")
}
