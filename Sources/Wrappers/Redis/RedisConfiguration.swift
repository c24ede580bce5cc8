public import ConnectionPool
import Foundation

/// How to reach Redis and how many connections to keep.
///
/// Read from a URL, `redis://[:password@]host[:port][/database]`, or `rediss://` for TLS with the
/// query items of ``TLSSettings`` (`?cacertfile=/etc/emporium/ca.pem`); the key that held it is
/// named in any error.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int
    /// TLS (`rediss://`), or `nil` for a plain connection.
    public var tls: TLSSettings?
    /// Upper bound for establishing a connection.
    public var connectTimeout: Duration
    /// Upper bound for one command's reply; a connection that times out is discarded.
    public var commandTimeout: Duration
    public var maximumConnections: Int
    /// How long a caller waits for a free connection.
    public var acquireTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, database: Int = 0,
        connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5),
        maximumConnections: Int = 16, acquireTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
    }

    public init(url: String, key: String = "url") throws {
        guard let components = URLComponents(string: url), components.scheme == "redis" || components.scheme == "rediss",
            let host = components.host, !host.isEmpty
        else {
            throw RedisError(
                .invalidConfiguration, "\(key): expected redis[s]://[:password@]host[:port][/database], got \"\(CredentialRedaction.redact(url))\"")
        }
        self.init(host: host)
        if let port = components.port {
            guard (1...65535).contains(port) else { throw RedisError(.invalidConfiguration, "\(key): port \(port) is out of range") }
            self.port = port
        }
        if let password = components.password, !password.isEmpty { self.password = password }
        let path = components.path.drop(while: { $0 == "/" })
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else {
                throw RedisError(.invalidConfiguration, "\(key): database must be a number, got \"\(path)\"")
            }
            self.database = database
        }
        let items = components.queryItems ?? []
        do {
            tls = try TLSSettings.parse(items, enabled: components.scheme == "rediss", secureScheme: "rediss", key: key)
        } catch {
            throw RedisError(.invalidConfiguration, error.message)
        }
        for item in items where !TLSSettings.queryItemNames.contains(item.name) {
            guard item.name == "pool_size", let value = item.value.flatMap(Int.init), value > 0 else {
                throw RedisError(.invalidConfiguration, "\(key): unknown or invalid option \"\(item.name)\"")
            }
            self.maximumConnections = value
        }
    }

    /// `host:port`, as used in error messages.
    public var address: String { "\(host):\(port)" }
}
