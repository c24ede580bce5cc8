import AuthCore
import DomainKit
import Foundation
import Logging
import Redis
import Sodium

/// Login attempts counted in Redis over a window, decided by ``AuthRules/admitLogin(_:policy:)``:
/// per account and client together, per client, and failures per account from everywhere (which
/// slow the account's logins down, never block them). The attempt is counted for the account and
/// client before the password is checked, so parallel guesses cannot all slip in before the count
/// moves; a success takes it back and clears the account's failures. With Redis down, logins go
/// on unthrottled (and it is logged): refusing every login would be worse.
struct LoginThrottle: Sendable {
    let redis: RedisPool
    let policy: AuthPolicy
    let clock: any WallClock
    let logger: Logger

    private func key(_ parts: String...) -> String { "\(policy.redisPrefix):auth:login:" + parts.joined(separator: ":") }
    private func accountClientKey(_ email: String, _ client: String) -> String { key("account-client", SHA256Digest.hex(email), client) }
    private func clientKey(_ client: String) -> String { key("client", client) }
    private func failuresKey(_ email: String) -> String { key("account-failures", SHA256Digest.hex(email)) }
    private func lastFailureKey(_ email: String) -> String { key("account-last-failure", SHA256Digest.hex(email)) }

    /// Counts this attempt; 429 if the rules refuse it.
    func take(email: String, client: String) async throws(DomainError) {
        let counts: AuthRules.LoginCounts
        do {
            let accountClient = try await redis.countInWindow(accountClientKey(email, client), window: policy.loginWindow)
            let fromClient = try await redis.countInWindow(clientKey(client), window: policy.loginWindow)
            let failures = Int(try await redis.getString(failuresKey(email)) ?? "") ?? 0
            let last = Int64(try await redis.getString(lastFailureKey(email)) ?? "")
            counts = AuthRules.LoginCounts(
                accountClient: accountClient.count, accountClientLeft: .milliseconds(accountClient.millisecondsLeft),
                client: fromClient.count, clientLeft: .milliseconds(fromClient.millisecondsLeft), accountFailures: failures,
                sinceLastFailure: last.map { .milliseconds(max(0, Self.milliseconds(clock.now) - $0)) })
        } catch {
            logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
            return
        }
        do {
            try AuthRules.admitLogin(counts, policy: policy)
        } catch {
            // Refused before any password was tested: the attempt does not count, so waiting out
            // a backoff never runs the owner's own client into its limit.
            await giveBack(email: email, client: client)
            throw error
        }
    }

    private func giveBack(email: String, client: String) async {
        do {
            // Only keys still counting: a DECR of one that expired meanwhile would leave -1 for ever.
            _ = try await redis.eval(
                "for _, key in ipairs(KEYS) do if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end end return 0",
                keys: [RedisArgument(accountClientKey(email, client)), RedisArgument(clientKey(client))])
        } catch {
            logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// A wrong password (or an unknown address): one more failure for the account.
    func failed(email: String) async {
        do {
            _ = try await redis.countInWindow(failuresKey(email), window: policy.loginWindow)
            _ = try await redis.set(
                lastFailureKey(email), to: RedisArgument(String(Self.milliseconds(clock.now))),
                expiration: .after(policy.loginWindow))
        } catch {
            logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// A successful login: the account starts over, and the client gets its attempt back.
    func succeeded(email: String, client: String) async {
        do {
            _ = try await redis.delete(accountClientKey(email, client), failuresKey(email), lastFailureKey(email))
            _ = try await redis.command(["DECR", RedisArgument(clientKey(client))])
        } catch {
            logger.warning("login throttle unavailable", metadata: ["error": "\(error)"])
        }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}
