/// The auth domain's rules, every one configurable (the keys are in `AuthSettings`).
public struct AuthPolicy: Sendable {
    /// How long a verification code is valid.
    public var codeLifetime: Duration = .seconds(600)
    /// Wrong codes accepted before the code is void.
    public var codeAttempts = 5
    /// Wrong codes for one address within a day, whatever code they were for, after which every
    /// code is refused until the day's window ends: resends cannot buy more guesses.
    public var codeFailuresPerDay = 20
    /// Before the first resend for one address (registration starts it); each resend doubles it for
    /// the next, up to `resendCooldownMaximum` (Redis `SET NX PX`).
    public var resendCooldown: Duration = .seconds(60)
    public var resendCooldownMaximum: Duration = .seconds(3600)
    public var refreshLifetime: Duration = .seconds(30 * 86_400)
    /// A session (a login and every refresh after it) ends this long after the login, however
    /// often it was refreshed.
    public var sessionLifetime: Duration = .seconds(90 * 86_400)
    /// A refresh token spent this recently may be spent again by the client that spent it (a
    /// retry after a lost answer, two tabs refreshing at once): it gets another successor.
    /// From another client, or later, reuse still revokes the family.
    public var refreshReuseGrace: Duration = .seconds(10)
    /// Failed logins for one account from one client, and from one client for any accounts,
    /// within `loginWindow` before that client gets 429. One client's failures never keep the
    /// account's owner out from elsewhere.
    public var loginFailuresPerAccountClient = 5
    public var loginFailuresPerClient = 20
    public var loginWindow: Duration = .seconds(900)
    /// Failed logins for one account from all clients within `loginWindow` after which each
    /// further attempt waits after the last failure: `loginBackoff`, doubling with each further
    /// failure, up to `loginBackoffMaximum` (or `loginBackoff`, if that is longer). A slowdown,
    /// never a block: many clients guessing one password cannot lock its owner out.
    public var loginBackoffAfter = 10
    public var loginBackoff: Duration = .seconds(1)
    public var loginBackoffMaximum: Duration = .seconds(60)
    /// Accounts still unverified after this are purged.
    public var unverifiedLifetime: Duration = .seconds(7 * 86_400)
    /// The prefix of the Redis keys (the messaging namespace).
    public var redisPrefix = "emporium"

    public init() {}
}
