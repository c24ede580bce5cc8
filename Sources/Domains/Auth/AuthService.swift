import Contracts
public import DomainKit
import Foundation
public import Logging
import Messaging
public import Postgres
public import Redis
import Sodium

/// Accounts and tokens: what the auth routes call.
public struct AuthService: Sendable {
    let database: PostgresRouter
    let redis: RedisPool
    let tokens: AccessTokens
    let passwords: PasswordVault
    let policy: AuthPolicy
    let throttle: LoginThrottle
    let codes: CodeThrottle
    let clock: any WallClock
    let logger: Logger

    public init(
        database: PostgresRouter, redis: RedisPool, tokens: AccessTokens, passwords: PasswordVault, policy: AuthPolicy,
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.database = database
        self.redis = redis
        self.tokens = tokens
        self.passwords = passwords
        self.policy = policy
        self.throttle = LoginThrottle(redis: redis, policy: policy, clock: clock, logger: logger)
        self.codes = CodeThrottle(redis: redis, policy: policy, logger: logger)
        self.clock = clock
        self.logger = logger
    }

    // MARK: - Sign-up

    /// A new, unverified customer account; `user.registered` follows in the same transaction
    /// (the auth worker mails the code). The answer is the same, after the same work (the
    /// password is hashed either way), whether the address was free or not, so nobody learns
    /// which addresses have accounts: a taken address gets a mail instead (`account_exists`
    /// for a verified account; a new code, within the resend cooldown, for an unverified one).
    public func register(_ credentials: Credentials, origin: RequestOrigin) async throws -> RegistrationReceived {
        try credentials.validate(newPassword: true)
        let email = credentials.normalisedEmail
        let hash = try await passwords.hash(credentials.password)
        let id = UUID()
        let existing = try await database.withTransaction { connection -> Account? in
            if try await AuthStore.insert(id: id, email: email, passwordHash: hash, role: .customer, verified: false, on: connection) {
                try await Self.publish(UserRegistered(accountID: id, email: email), accountID: id, origin: origin, on: connection)
                return nil
            }
            guard let account = try await AuthStore.account(email: email, on: connection)?.account else { return nil }
            if account.isVerified {
                try await Self.mail(.accountExists, to: account, origin: origin, on: connection)
            }
            return account
        }
        switch existing {
        case nil:
            // The first code is on its way: the resend cooldown starts now.
            await codes.codeSent(email: email)
        case let account? where !account.isVerified:
            // Registering again is asking for a new code: sent within the resend limits, silently skipped past them.
            guard (try? await codes.resend(email: email)) != nil else { break }
            try await database.withTransaction { connection in
                try await Self.publish(VerificationRequested(accountID: account.id), accountID: account.id, origin: origin, on: connection)
            }
        default:
            break
        }
        return RegistrationReceived(email: email)
    }

    /// Checks the code (``AuthRules/verify(accountVerified:code:matches:policy:now:)``); five
    /// wrong tries void it, and so does its lifetime running out. Every refusal is the same
    /// (``AuthRules/codeRefused``) and counts against the address, whether it has an account
    /// waiting or not.
    public func verify(_ attempt: VerificationAttempt, origin: RequestOrigin) async throws -> AccountView {
        try AuthRules.validate(attempt)
        let email = Credentials.normalised(attempt.email)
        let verified = try await spendCode(attempt.code, email: email, rule: AuthRules.verify) { account, connection in
            try await connection.execute("UPDATE auth.accounts SET verified_at = now(), updated_at = now() WHERE id = \(account.id)")
            try await Self.publish(UserVerified(accountID: account.id, email: email), accountID: account.id, origin: origin, on: connection)
        }
        return AccountView(verified)
    }

    /// A code's transaction for `email`: the account and its code locked, `rule`'s verdict
    /// applied (a wrong try counted, a void code deleted); on a match the code is deleted and
    /// `onMatch` runs, and the account is read again. Every refusal is ``AuthRules/codeRefused``
    /// and counts against the address (``CodeThrottle``).
    func spendCode(
        _ attempt: String, email: String,
        rule: @escaping (Bool, AuthRules.PendingCode?, Bool, AuthPolicy, Date) throws(DomainError) -> AuthRules.Verification,
        onMatch: @escaping (Account, PostgresConnection) async throws -> Void
    ) async throws -> Account {
        try await codes.admit(email: email)
        let now = clock.now
        let matched: Account?
        do {
            matched = try await database.withTransaction { connection -> Account? in
                let stored = try await AuthStore.account(email: email, on: connection)
                var code: AuthStore.Code?
                if let stored { code = try await AuthStore.lockCode(accountID: stored.account.id, on: connection) }
                let matches = stored.map { AuthStore.codeHash(attempt, accountID: $0.account.id) == code?.codeHash } ?? false
                let verdict = try rule(
                    stored?.account.isVerified ?? false, code.map { AuthRules.PendingCode(expiresAt: $0.expiresAt, attempts: $0.attempts) },
                    matches, policy, now)
                guard let account = stored?.account else { throw AuthRules.noCode }
                switch verdict {
                case .wrong(let attempts, let void):
                    if void {
                        try await connection.execute("DELETE FROM auth.verification_codes WHERE account_id = \(account.id)")
                    } else {
                        try await connection.execute("UPDATE auth.verification_codes SET attempts = \(attempts) WHERE account_id = \(account.id)")
                    }
                    return nil
                case .verified:
                    try await connection.execute("DELETE FROM auth.verification_codes WHERE account_id = \(account.id)")
                    try await onMatch(account, connection)
                    return try await AuthStore.account(id: account.id, on: connection)?.account
                }
            }
        } catch let error as DomainError where error == AuthRules.noCode {
            await codes.failed(email: email)
            throw AuthRules.codeRefused
        }
        guard let matched else {
            await codes.failed(email: email)
            throw AuthRules.codeRefused
        }
        return matched
    }

    /// A new code by mail, once per cooldown per address, the cooldown doubling with each resend of
    /// the day (``CodeThrottle``). The answer is the same whether the address has an account
    /// waiting for verification or not.
    public func resend(_ request: ResendRequest, origin: RequestOrigin) async throws {
        let email = Credentials.normalised(request.email)
        guard Credentials.isEmail(email) else { throw DomainError.invalid("email", "not an e-mail address") }
        try await codes.resend(email: email)
        try await database.withTransaction { connection in
            guard let stored = try await AuthStore.account(email: email, on: connection), !stored.account.isVerified else { return }
            let id = stored.account.id
            try await Self.publish(VerificationRequested(accountID: id), accountID: id, origin: origin, on: connection)
        }
    }

    // MARK: - Sessions

    /// Tokens for a verified account. Unknown addresses take as long as known ones (a decoy hash
    /// is verified) and get the same answer; attempts are throttled per account and client, per
    /// client, and slowed down per account (``LoginThrottle``).
    public func login(_ credentials: Credentials, origin: RequestOrigin) async throws -> TokenPair {
        try credentials.validate(newPassword: false)
        let email = credentials.normalisedEmail
        try await throttle.take(email: email, client: origin.client)
        let stored = try await database.withPrimary { try await AuthStore.account(email: email, on: $0) }
        let matches = try await passwords.verify(credentials.password, against: stored?.passwordHash)
        if !matches { await throttle.failed(email: email) }
        let account = try AuthRules.login(stored?.account, passwordMatches: matches)
        await throttle.succeeded(email: email, client: origin.client)
        let now = clock.now
        return try await database.withTransaction { connection in
            try await issue(for: account, family: UUID(), sessionStartedAt: now, now: now, on: connection)
        }
    }

    /// Spends a refresh token for a new pair, within the session's absolute lifetime. A token
    /// already spent revokes its family (whoever holds any of its tokens must log in again),
    /// unless the same client spent it moments ago (``AuthPolicy/refreshReuseGrace``).
    public func refresh(_ request: RefreshRequest, origin: RequestOrigin) async throws -> TokenPair {
        enum Outcome: Sendable {
            case issued(TokenPair)
            case refused(String)
        }
        let hash = SHA256Digest.hex(request.refreshToken)
        let now = clock.now
        let outcome = try await database.withTransaction { connection -> Outcome in
            let token = try await AuthStore.lockRefreshToken(hash: hash, on: connection)
            let decision = AuthRules.refresh(token?.state, client: origin.client, policy: policy, now: now)
            switch decision {
            case .refuse(let reason):
                return .refused(reason)
            case .revokeFamily(let reason):
                guard let token else { return .refused(reason) }
                try await AuthStore.revokeFamily(token.familyID, why: "reuse", on: connection)
                logger.warning("refresh token reused; its family is revoked", metadata: ["account.id": "\(token.accountID)"])
                return .refused(reason)
            case .issue, .reissue:
                guard let token, let account = try await AuthStore.account(id: token.accountID, on: connection)?.account else {
                    return .refused("The account is gone.")
                }
                if decision == .issue {
                    try await AuthStore.spendRefreshToken(token.id, by: origin.client, at: now, on: connection)
                } else {
                    logger.info("refresh token spent again by its client within the grace window", metadata: ["account.id": "\(token.accountID)"])
                }
                return .issued(try await issue(for: account, family: token.familyID, sessionStartedAt: token.sessionStartedAt, now: now, on: connection))
            }
        }
        switch outcome {
        case .issued(let pair): return pair
        case .refused(let reason): throw AccessTokens.unauthorized(reason)
        }
    }

    /// Revokes the refresh token's family (its access tokens run out by themselves, within
    /// their short lifetime). Unknown tokens are fine: the session is over either way.
    public func logout(_ request: RefreshRequest) async throws {
        let hash = SHA256Digest.hex(request.refreshToken)
        try await database.withTransaction { connection in
            if let token = try await AuthStore.lockRefreshToken(hash: hash, on: connection) {
                try await AuthStore.revokeFamily(token.familyID, why: "logout", on: connection)
            }
        }
    }

    public func me(_ caller: Caller) async throws -> AccountView {
        guard let id = UUID(uuidString: caller.id),
              let account = try await database.withPrimary({ try await AuthStore.account(id: id, on: $0) })?.account
        else { throw DomainError.notFound("The account of this token no longer exists.") }
        return AccountView(account)
    }

    /// What ``bootstrapAdmin(email:password:)`` found.
    public enum AdminBootstrap: Sendable {
        case created
        case existed
        /// The address belongs to a customer account: it is left as it is.
        case takenByCustomer
    }

    /// Creates the admin account from configuration if its address is free (every replica may
    /// try at start; one wins).
    public func bootstrapAdmin(email: String, password: String) async throws -> AdminBootstrap {
        let email = email.lowercased()
        let hash = try await passwords.hash(password)
        return try await database.withTransaction { connection in
            if try await AuthStore.insert(id: UUID(), email: email, passwordHash: hash, role: .admin, verified: true, on: connection) {
                return .created
            }
            return try await AuthStore.account(email: email, on: connection)?.account.role == .admin ? .existed : .takenByCustomer
        }
    }

    // MARK: - Helpers

    func issue(
        for account: Account, family: UUID, sessionStartedAt: Date, now: Date, on connection: PostgresConnection
    ) async throws -> TokenPair {
        let access = try await tokens.issue(subject: account.id.uuidString.lowercased(), role: account.role.rawValue)
        let refreshToken = Base64URL.encode(SecureRandom.bytes(32))
        let expiresAt = AuthRules.refreshExpiry(sessionStartedAt: sessionStartedAt, policy: policy, now: now)
        try await AuthStore.insertRefreshToken(
            familyID: family, accountID: account.id, tokenHash: SHA256Digest.hex(refreshToken), sessionStartedAt: sessionStartedAt,
            expiresAt: expiresAt, on: connection)
        return TokenPair(
            accessToken: access.token, expiresIn: Int(tokens.settings.lifetime.timeInterval), refreshToken: refreshToken,
            refreshExpiresIn: max(0, Int(expiresAt.timeIntervalSince(now))))
    }

    /// An account event on the user topic, in the caller's transaction.
    static func publish<Payload: MessagePayload>(_ payload: Payload, accountID: UUID, origin: RequestOrigin, on connection: PostgresConnection) async throws {
        try await append(payload, key: accountID.uuidString.lowercased(), to: Destinations.users, origin: origin, on: connection)
    }
}

enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
