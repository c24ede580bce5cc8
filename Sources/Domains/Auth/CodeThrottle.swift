import AuthCore
import DomainKit
import Logging
import Redis
import Sodium

/// Verification codes' limits in Redis, decided by ``AuthRules``: wrong codes per address over a
/// day, whatever code they were for (a resend issues a new code with its own tries, which must not
/// buy more guesses), and a resend cooldown that doubles with each resend of the day. With Redis
/// down, codes are checked without the daily cap (and it is logged): refusing every verification
/// would be worse. A resend needs Redis for its cooldown, and fails without it.
struct CodeThrottle: Sendable {
    let redis: RedisPool
    let policy: AuthPolicy
    let logger: Logger

    /// The day the failures and resends are counted over.
    static let window: Duration = .seconds(86_400)

    private func key(_ kind: String, _ email: String) -> String { "\(policy.redisPrefix):auth:\(kind):\(SHA256Digest.hex(email))" }

    /// 429 once the address had too many wrong codes today.
    func admit(email: String) async throws(DomainError) {
        let failures: Int, left: Int
        do {
            failures = Int(try await redis.getString(key("code-failures", email)) ?? "") ?? 0
            left = try await redis.pttl(key("code-failures", email))
        } catch {
            logger.warning("verification throttle unavailable", metadata: ["error": "\(error)"])
            return
        }
        try AuthRules.admitCodeAttempt(failures: failures, left: .milliseconds(max(left, 0)), policy: policy)
    }

    /// A wrong code.
    func failed(email: String) async {
        do {
            _ = try await redis.countInWindow(key("code-failures", email), window: Self.window)
        } catch {
            logger.warning("verification throttle unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// The first code is on its way (a registration): the first cooldown starts.
    func codeSent(email: String) async {
        _ = try? await redis.set(key(Purpose.verification.rawValue, email), to: "1", condition: .ifNotExists, expiration: .after(policy.resendCooldown))
    }

    /// What a code is mailed for: each has its own cooldown (a password reset does not wait for
    /// the registration's), the wrong codes count together.
    enum Purpose: String {
        case verification = "resend"
        case passwordReset = "reset"
    }

    /// A resend, unless the cooldown runs: then 429 with what is left of it. Each resend of the
    /// day starts a cooldown twice as long as the one before.
    func resend(email: String, purpose: Purpose = .verification) async throws {
        let (cooldownKey, countKey) = (key(purpose.rawValue, email), key(purpose.rawValue + "s", email))
        let resends = Int(try await redis.getString(countKey) ?? "") ?? 0
        let cooldown = AuthRules.resendCooldown(afterResends: resends + 1, policy: policy)
        guard try await redis.set(cooldownKey, to: "1", condition: .ifNotExists, expiration: .after(cooldown)) else {
            throw AuthRules.resendTooSoon(retryAfter: .milliseconds(max(try await redis.pttl(cooldownKey), 1)))
        }
        do {
            _ = try await redis.countInWindow(countKey, window: Self.window)
        } catch {
            // The cooldown runs already; the next one is only not doubled.
            logger.warning("resend count unavailable", metadata: ["error": "\(error)"])
        }
    }

}
