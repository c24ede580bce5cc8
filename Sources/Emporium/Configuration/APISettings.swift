import Gateway
import Messaging

/// The HTTP gateway.
///
/// Keys: `API_HOST` (`127.0.0.1`), `API_PORT` (`8080`; 0 picks a free port, logged at start),
/// `RATE_LIMIT_AUTH` (`20/1m`: `/auth/*` requests per client), `RATE_LIMIT_WRITE` (`120/1m`:
/// other non-GET requests), `RATE_LIMIT_READ` (`600/1m`: GET and HEAD); each `<count>/<window>`
/// or `off`. The client is the token's account, else the peer's address; counts live in Redis,
/// so the limits hold across replicas. `API_TRUSTED_PROXIES` (none): comma-separated networks
/// (CIDR) of the reverse proxies in front of the API; only from those peers is `X-Forwarded-For`
/// believed, and the client is its right-most address that is not a trusted proxy.
/// `API_IDLE_TIMEOUT` (`30s`): a connection with no request in progress, or whose request head
/// has not arrived in full, is closed after this (slow or idle clients hold no connection for
/// ever). `API_MAX_CONNECTIONS` (`1024`): past this many open connections new ones wait in the
/// listen backlog until some close. `API_OBSERVABILITY_PORT` (unset): when set, `/metrics` and
/// `/health/*` are served on this port (of `API_HOST`) instead of the API's, so that they need
/// not be public with it; 0 picks a free port.
struct APISettings: Sendable {
    var host: String
    var port: Int
    var idleTimeout: Duration
    var maximumConnections: Int
    var observabilityPort: Int?
    var rateLimits: [RateLimiter.RouteClass: RateLimiter.Rule]
    var trustedProxies: TrustedProxies

    init(environment: Environment) throws {
        host = environment.string("API_HOST", default: "127.0.0.1")
        port = try environment.integer("API_PORT", default: 8080, range: 0...65535)
        idleTimeout = try environment.duration("API_IDLE_TIMEOUT", default: .seconds(30))
        guard idleTimeout >= .seconds(1) else { throw ConfigurationError(key: "API_IDLE_TIMEOUT", message: "must be at least 1s") }
        maximumConnections = try environment.integer("API_MAX_CONNECTIONS", default: 1024, range: 1...1_000_000)
        observabilityPort = environment.optionalString("API_OBSERVABILITY_PORT") == nil
            ? nil : try environment.integer("API_OBSERVABILITY_PORT", default: 0, range: 0...65535)
        trustedProxies = try environment.parse("API_TRUSTED_PROXIES", default: "") { try TrustedProxies($0) }
        rateLimits = [:]
        let defaults: [RateLimiter.RouteClass: String] = [.auth: "20/1m", .write: "120/1m", .read: "600/1m"]
        for routeClass in RateLimiter.RouteClass.all {
            let key = "RATE_LIMIT_\(routeClass.name.uppercased())"
            let text = environment.string(key, default: defaults[routeClass]!)
            if text == "off" { continue }
            guard let rule = RateLimiter.Rule(text, parseDuration: AMQPDelays.parseDuration) else {
                throw ConfigurationError(key: key, message: "expected <count>/<window> such as 20/1m, or off, got \"\(text)\"")
            }
            rateLimits[routeClass] = rule
        }
    }
}
