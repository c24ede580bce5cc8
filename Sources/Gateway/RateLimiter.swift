import Foundation
import HTTPRuntime
public import Logging
public import Redis

/// Fixed-window request limits per client and route class, counted in Redis so every `api`
/// replica draws on the same allowance.
public struct RateLimiter: Sendable {
    /// `limit` requests per `window`.
    public struct Rule: Sendable, Hashable {
        public var limit: Int
        public var window: Duration

        public init(limit: Int, window: Duration) {
            self.limit = limit
            self.window = window
        }

        /// `20/1m`, `600/60s`; `nil` for anything else.
        public init?(_ text: String, parseDuration: (String) -> Duration?) {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let limit = Int(parts[0]), limit > 0, let window = parseDuration(String(parts[1])), window >= .seconds(1)
            else { return nil }
            self.init(limit: limit, window: window)
        }

        var windowSeconds: Int { Int(window.components.seconds) }
    }

    /// Route classes, each with its own allowance.
    public struct RouteClass: Hashable, Sendable, CustomStringConvertible {
        /// The class's name in keys, settings and messages.
        public let name: String

        /// `/auth/*`: sign-up, login, codes, refresh. Tight, against guessing and spam.
        public static let auth = RouteClass(name: "auth")
        /// Other requests that change something.
        public static let write = RouteClass(name: "write")
        /// GET and HEAD.
        public static let read = RouteClass(name: "read")

        public static let all: [RouteClass] = [.auth, .write, .read]

        public var description: String { name }
    }

    public struct Decision: Sendable {
        public var allowed: Bool
        public var rule: Rule
        public var remaining: Int
        /// Seconds until the window starts over.
        public var reset: Int
    }

    let redis: RedisPool
    let rules: [RouteClass: Rule]
    let prefix: String
    let logger: Logger

    /// `rules` without a class leave it unlimited.
    public init(redis: RedisPool, rules: [RouteClass: Rule], prefix: String, logger: Logger) {
        self.redis = redis
        self.rules = rules
        self.prefix = prefix
        self.logger = logger
    }

    /// Counts one request of `client` in `routeClass`. `nil` when the class is unlimited, or when
    /// Redis cannot be reached (the request goes through; refusing all traffic would be worse).
    public func take(_ routeClass: RouteClass, client: String) async -> Decision? {
        guard let rule = rules[routeClass] else { return nil }
        let key = "\(prefix):ratelimit:\(routeClass.name):\(client)"
        do {
            let (count, left) = try await redis.countInWindow(key, window: .seconds(rule.windowSeconds))
            return Decision(
                allowed: count <= rule.limit, rule: rule, remaining: max(0, rule.limit - count), reset: max(1, (left + 999) / 1000))
        } catch {
            logger.warning("rate limiter unavailable; letting the request through", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
