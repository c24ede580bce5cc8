import Foundation

/// Where and how to send mail.
///
/// `url` is `smtp://host:port` (plain, or upgraded with STARTTLS) or `smtps://host:port` (TLS
/// from the first byte); credentials may be given in the URL (`smtp://user:pass@host`) or apart.
public struct SMTPConfiguration: Sendable, Hashable {
    /// When to use TLS on an `smtp://` connection.
    public struct StartTLS: Hashable, Sendable {
        let level: Int
        /// Plain text (a local catcher).
        public static let never = StartTLS(level: 0)
        /// Upgrade when the server offers it.
        public static let opportunistic = StartTLS(level: 1)
        /// Refuse to send without TLS.
        public static let required = StartTLS(level: 3)

        /// `never`, `opportunistic` or `required`.
        public init?(_ text: String) {
            switch text {
            case "never", "off", "false": self = .never
            case "opportunistic", "try": self = .opportunistic
            case "required", "on", "true": self = .required
            default: return nil
            }
        }

        private init(level: Int) { self.level = level }
    }

    public var url: String
    public var username: String?
    public var password: String?
    public var startTLS: StartTLS
    /// The envelope sender and `From:` address.
    public var from: String
    /// The name shown with `from`.
    public var fromName: String?
    public var connectTimeout: Duration
    /// For the whole transfer.
    public var timeout: Duration

    public init(
        url: String, from: String, fromName: String? = nil, username: String? = nil, password: String? = nil,
        startTLS: StartTLS = .opportunistic, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60)
    ) throws(SMTPError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["smtp", "smtps"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { throw SMTPError(.invalidConfiguration, "expected smtp://host[:port] or smtps://host[:port], got \(url)") }
        guard from.contains("@") else { throw SMTPError(.invalidConfiguration, "the sender \(from) is not an address") }
        var plain = components
        plain.user = nil
        plain.password = nil
        self.url = plain.string ?? url
        self.username = username ?? components.user?.removingPercentEncoding
        self.password = password ?? components.password?.removingPercentEncoding
        self.startTLS = startTLS
        self.from = from
        self.fromName = fromName
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    /// The host and port, for logs.
    public var server: String {
        guard let components = URLComponents(string: url) else { return url }
        return "\(components.host ?? "?"):\(components.port.map(String.init) ?? (components.scheme == "smtps" ? "465" : "25"))"
    }
}
