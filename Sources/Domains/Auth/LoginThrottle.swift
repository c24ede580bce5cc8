import HTTPRuntime
import Logging
import Redis
import Sodium

/// Failed logins counted in Redis per account (by address, known or not) and per client over a
/// window; past the limit, logins get 429 until the window ends. With Redis down, logins go on
/// unthrottled (and it is logged): refusing every login would be worse.
struct LoginThrottle: Sendable {
    let redis: RedisPool
    let policy: AuthPolicy
    let logger: Logger

    private func keys(email: String, client: String) -> [(key: String, limit: Int)] {
        [
            ("\(policy.redisPrefix):auth:login-failures:account:\(SHA256Digest.hex(email))", policy.loginFailuresPerAccount),
            ("\(policy.redisPrefix):auth:login-failures:client:\(client)", policy.loginFailuresPerClient),
        ]
    }

    func check(email: String, client: String) async throws(Problem) {
        for (key, limit) in keys(email: email, client: client) {
            do {
                guard let count = try await redis.getString(key).flatMap({ Int($0) }), count >= limit else { continue }
                let seconds = max(1, (try await redis.pttl(key) + 999) / 1000)
                throw Problem(
                    .tooManyRequests, "Too many requests", detail: "Too many failed logins; try again in \(seconds) s.",
                    headers: [.retryAfter: String(seconds)])
            } catch let problem as Problem {
                throw problem
            } catch {
                logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    func recordFailure(email: String, client: String) async {
        for (key, _) in keys(email: email, client: client) {
            do {
                if try await redis.increment(key) == 1 { try await redis.expire(key, after: policy.loginWindow) }
            } catch {
                logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
            }
        }
    }

    func recordSuccess(email: String) async {
        _ = try? await redis.delete(keys(email: email, client: "").first!.key)
    }
}
