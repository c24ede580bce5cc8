/// The auth domain's rules, every one configurable (the keys are in `AuthSettings`).
public struct AuthPolicy: Sendable {
    /// How long a verification code is valid.
    public var codeLifetime: Duration = .seconds(600)
    /// Wrong codes accepted before the code is void.
    public var codeAttempts = 5
    /// Between two resends for one account (Redis `SET NX EX`).
    public var resendCooldown: Duration = .seconds(60)
    public var refreshLifetime: Duration = .seconds(30 * 86_400)
    /// Failed logins per account, and per client, within `loginWindow` before 429.
    public var loginFailuresPerAccount = 5
    public var loginFailuresPerClient = 20
    public var loginWindow: Duration = .seconds(900)
    /// Accounts still unverified after this are purged.
    public var unverifiedLifetime: Duration = .seconds(7 * 86_400)
    /// The prefix of the Redis keys (the messaging namespace).
    public var redisPrefix = "emporium"

    public init() {}
}
