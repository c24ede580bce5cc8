public import ConnectionPool
import Foundation

/// How to reach RabbitMQ: `amqp://user:password@host:port/vhost` (no trailing slash for the
/// default vhost `/`; `%2F` also means `/`), or `amqps://` for TLS (port 5671 unless given), with
/// the query items of ``TLSSettings`` (`?cacertfile=/etc/emporium/ca.pem`).
public struct AMQPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    /// TLS (`amqps://`), or `nil` for a plain connection.
    public var tls: TLSSettings?
    /// Heartbeat interval the client proposes; a dead peer is noticed within about twice this.
    public var heartbeat: Duration = .seconds(10)
    public var connectTimeout: Duration = .seconds(5)
    /// First and longest wait between reconnection attempts (doubling in between).
    public var reconnectDelay: Duration = .milliseconds(100)
    public var maximumReconnectDelay: Duration = .seconds(5)
    /// How long graceful shutdown waits for deliveries in hand to be acknowledged and publishes confirmed.
    public var drainTimeout: Duration = .seconds(10)

    public init(host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest", virtualHost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    public init(url: String, key: String = "url") throws {
        guard let components = URLComponents(string: url), components.scheme == "amqp" || components.scheme == "amqps",
            let host = components.host, !host.isEmpty
        else {
            throw AMQPError(
                .invalidConfiguration, "\(key): expected amqp[s]://user:password@host:port/vhost, got \"\(CredentialRedaction.redact(url))\"")
        }
        let secure = components.scheme == "amqps"
        self.init(host: host, port: secure ? 5671 : 5672)
        let items = components.queryItems ?? []
        if let unknown = items.first(where: { !TLSSettings.queryItemNames.contains($0.name) }) {
            throw AMQPError(.invalidConfiguration, "\(key): unknown option \"\(unknown.name)\" (the TLS ones: \(TLSSettings.queryItemNames.sorted().joined(separator: ", ")))")
        }
        do {
            tls = try TLSSettings.parse(items, enabled: secure, secureScheme: "amqps", key: key)
        } catch {
            throw AMQPError(.invalidConfiguration, error.message)
        }
        if let port = components.port {
            guard (1...65535).contains(port) else { throw AMQPError(.invalidConfiguration, "\(key): port \(port) is out of range") }
            self.port = port
        }
        if let user = components.user { self.user = user }
        if let password = components.password { self.password = password }
        let path = components.percentEncodedPath
        if path.isEmpty {
            virtualHost = "/"
        } else {
            // "amqp://host/" names the empty vhost, a classic mistake; say so instead of failing later.
            let name = String(path.dropFirst()).removingPercentEncoding ?? ""
            guard !name.isEmpty else {
                throw AMQPError(.invalidConfiguration, "\(key): a trailing '/' names the empty virtual host; leave it out (or use /%2F) for '/'")
            }
            virtualHost = name
        }
    }

    public var address: String { "\(host):\(port)" }
}
