import HTTPRuntime
import Logging
import Redis
import Sodium

/// Login attempts counted in Redis per account (by address, known or not) and per client over a
/// window. Each attempt is counted before the password is checked, in one script (INCR, and the
/// window's expiry set or repaired), so parallel guesses cannot all slip in before the count
/// moves; past the limit, logins get 429 until the window ends. A successful login clears the
/// account's count and takes itself off the client's. With Redis down, logins go on unthrottled
/// (and it is logged): refusing every login would be worse.
struct LoginThrottle: Sendable {
    let redis: RedisPool
    let policy: AuthPolicy
    let logger: Logger

    static let script = """
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
        return {count, ttl}
        """

    private func accountKey(_ email: String) -> String { "\(policy.redisPrefix):auth:login-attempts:account:\(SHA256Digest.hex(email))" }
    private func clientKey(_ client: String) -> String { "\(policy.redisPrefix):auth:login-attempts:client:\(client)" }

    /// Counts this attempt; 429 if it is over either limit.
    func take(email: String, client: String) async throws(Problem) {
        let window = max(1, policy.loginWindow.components.seconds) * 1000
        for (key, limit) in [(accountKey(email), policy.loginFailuresPerAccount), (clientKey(client), policy.loginFailuresPerClient)] {
            let reply: RedisValue
            do {
                reply = try await redis.eval(Self.script, keys: [RedisArgument(key)], arguments: [RedisArgument(Int(window))])
            } catch {
                logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
                return
            }
            guard case .array(let values) = reply, values.count == 2, case .integer(let count) = values[0], case .integer(let ttl) = values[1]
            else { continue }
            if count > limit {
                let seconds = max(1, (ttl + 999) / 1000)
                throw Problem(
                    .tooManyRequests, "Too many requests", detail: "Too many login attempts; try again in \(seconds) s.",
                    headers: [.retryAfter: String(seconds)])
            }
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
