import AuthCore
import DomainKit
import Logging
import Redis
import Sodium

/// Login attempts counted in Redis per account (by address, known or not) and per client over a
/// window. Each attempt is counted before the password is checked (``RedisPool/countInWindow``),
/// so parallel guesses cannot all slip in before the count moves; past the limit, logins get 429 until the window ends. A successful login clears the
/// account's count and takes itself off the client's. With Redis down, logins go on unthrottled
/// (and it is logged): refusing every login would be worse.
struct LoginThrottle: Sendable {
    let redis: RedisPool
    let policy: AuthPolicy
    let logger: Logger

    private func accountKey(_ email: String) -> String { "\(policy.redisPrefix):auth:login-attempts:account:\(SHA256Digest.hex(email))" }
    private func clientKey(_ client: String) -> String { "\(policy.redisPrefix):auth:login-attempts:client:\(client)" }

    /// Counts this attempt; 429 if it is over either limit.
    func take(email: String, client: String) async throws(DomainError) {
        for (key, limit) in [(accountKey(email), policy.loginFailuresPerAccount), (clientKey(client), policy.loginFailuresPerClient)] {
            let count: Int, left: Int
            do {
                (count, left) = try await redis.countInWindow(key, window: policy.loginWindow)
            } catch {
                logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
                return
            }
            try AuthRules.throttle(count: count, limit: limit, left: .milliseconds(left))
        }
    }

    /// A successful login: the account starts over, and the client gets its attempt back.
    func succeeded(email: String, client: String) async {
        do {
            try await redis.delete(accountKey(email))
            _ = try await redis.command(["DECR", RedisArgument(clientKey(client))])
        } catch {
            logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
        }
    }
}
