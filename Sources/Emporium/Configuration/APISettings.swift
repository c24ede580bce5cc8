import DomainRuntime
import Gateway
import Messaging

/// The HTTP gateway. Keys: ``APIKeys``. A client is the token's account, else the peer's
/// address; rate-limit counts live in Redis, so the limits hold across replicas.
struct APISettings: Sendable {
    var host: String
    var port: Int
    var idleTimeout: Duration
    var maximumConnections: Int
    var observabilityPort: Int?
    var rateLimits: [RateLimiter.RouteClass: RateLimiter.Rule]
    var trustedProxies: TrustedProxies

    init(settings reader: SettingsReader) throws {
        let keys = APIKeys()
        host = try reader.value(keys.host)
        port = try reader.value(keys.port)
        idleTimeout = try reader.value(keys.idleTimeout)
        maximumConnections = try reader.value(keys.maximumConnections)
        observabilityPort = try reader.value(keys.observabilityPort)
        trustedProxies = try reader.value(keys.trustedProxies)
        let limits: [RateLimiter.RouteClass: Setting<RateLimiter.Rule?>] = [.auth: keys.authLimit, .write: keys.writeLimit, .read: keys.readLimit]
        rateLimits = try limits.compactMapValues { try reader.value($0) }
    }
}

struct APIKeys: SettingGroup {
    var title: String { "API" }

    let host = Setting.text("API_HOST", default: "127.0.0.1", meaning: "the API's address")
    let port = Setting.integer("API_PORT", default: 8080, in: 0...65535, meaning: "`0` picks a free port, logged at start")
    let idleTimeout = Setting.duration(
        "API_IDLE_TIMEOUT", default: .seconds(30), atLeast: .seconds(1),
        meaning: "a connection with no request in progress, or whose request head has not fully arrived, is closed after this "
            + "(slowloris holds nothing)")
    let maximumConnections = Setting.integer(
        "API_MAX_CONNECTIONS", default: 1024, in: 1...1_000_000,
        meaning: "open connections at most per API process; more wait in the listen backlog until some close")
    let observabilityPort = Setting.optionalInteger(
        "API_OBSERVABILITY_PORT", in: 0...65535, defaultText: "(none: `/metrics` and `/health/*` are served with the API)",
        meaning: "set, `/metrics` and `/health/*` are served on this port of `API_HOST` only (`0` picks a free one, logged), so "
            + "that a proxy need not hide them from the public")
    let trustedProxies = Setting<TrustedProxies>.parsed(
        "API_TRUSTED_PROXIES", default: "", shownAs: "(none: `X-Forwarded-For` is ignored and the client is the connection's peer)",
        meaning: "comma-separated networks in CIDR notation or single addresses, IPv4 or IPv6 (`10.0.0.0/8, 192.168.1.7, fd00::/8`): "
            + "the reverse proxies or ingress in front of the API. `X-Forwarded-For` is believed only on requests from a peer in "
            + "them, and the client is its right-most address that is not a trusted proxy, so a client cannot choose the address "
            + "its rate limits and login throttling count against"
    ) { text, _ in try TrustedProxies(text) }
    let authLimit = Self.rateLimit("RATE_LIMIT_AUTH", default: "20/1m", meaning: "requests per client for `/auth/*`")
    let writeLimit = Self.rateLimit("RATE_LIMIT_WRITE", default: "120/1m", meaning: "requests per client for other non-GET requests")
    let readLimit = Self.rateLimit("RATE_LIMIT_READ", default: "600/1m", meaning: "GET and HEAD requests per client, and GraphQL queries (`/graphql`, either method)")

    /// `<count>/<window>`, or `off`.
    private static func rateLimit(_ name: String, default defaultText: String, meaning: String) -> Setting<RateLimiter.Rule?> {
        .parsed(name, default: defaultText, meaning: meaning + "; `off` disables it") { text, _ in
            if text == "off" { return nil }
            guard let rule = RateLimiter.Rule(text, parseDuration: AMQPDelays.parseDuration) else {
                throw SettingProblem.expected("<count>/<window> such as 20/1m, or off")
            }
            return rule
        }
    }
}
