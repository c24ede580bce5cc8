import ConnectionPool
import Foundation

/// How to reach one PostgreSQL server and how many connections to keep to it.
///
/// Read from a URL such as `postgresql://user:password@127.0.0.1:5432/emporium` (the key that
/// held it is named in any error), or built field by field.
public struct PostgresConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Upper bound for establishing a connection (libpq rounds below 2 s up to 2 s).
    public var connectTimeout: Duration
    /// Most connections the pool opens.
    public var maximumConnections: Int
    /// How long a caller waits for a free connection before ``PostgresError/Code/poolTimeout``.
    public var acquireTimeout: Duration
    /// Reported to the server as `application_name`.
    public var applicationName: String
    /// Further libpq connection parameters, passed through as they are: TLS (`sslmode`,
    /// `sslrootcert`, `sslcert`, `sslkey`, ...), `target_session_attrs`, TCP keepalives. Only
    /// the names in ``passedThroughParameters`` are taken, so a misspelt one stops start-up.
    public var libpqParameters: [String: String] = [:]
    /// Server settings for each session, in libpq's `options` form (`-c name=value ...`); by
    /// default `PGOPTIONS` from the environment, as every libpq program reads it. The wrapper's
    /// own settings (``fixedServerOptions``) come after them and win.
    public var serverOptions: String = ProcessInfo.processInfo.environment["PGOPTIONS"] ?? ""

    /// What decoding relies on: ISO dates in UTC and round-tripping floats.
    public static let fixedServerOptions = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3"

    /// libpq's `options`: ``serverOptions``, then ``fixedServerOptions`` (for a setting named in
    /// both, the later one holds).
    public var libpqOptions: String {
        let own = serverOptions.trimmingCharacters(in: .whitespaces)
        return own.isEmpty ? Self.fixedServerOptions : own + " " + Self.fixedServerOptions
    }

    /// The libpq parameters a URL may carry besides the ones this type has fields for.
    public static let passedThroughParameters: Set<String> = [
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir", "sslsni", "sslcompression",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "requirepeer", "gssencmode", "channel_binding", "krbsrvname",
        "target_session_attrs", "load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout", "hostaddr", "passfile", "service",
    ]

    /// Values libpq would only refuse at the first connection, checked when the URL is read.
    static let knownValues: [String: Set<String>] = [
        "sslmode": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        "target_session_attrs": ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"],
        "gssencmode": ["disable", "prefer", "require"],
        "channel_binding": ["disable", "prefer", "require"],
    ]

    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String = "emporium",
        password: String? = nil, database: String = "emporium",
        connectTimeout: Duration = .seconds(5), maximumConnections: Int = 10,
        acquireTimeout: Duration = .seconds(10), applicationName: String = "emporium"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
        self.applicationName = applicationName
    }

    /// Parses `postgresql://[user[:password]@]host[:port]/database[?option=value&...]`; `key`
    /// names the setting the URL came from, for the error message. Options: `pool_size`,
    /// `connect_timeout` (seconds), `application_name`, and the libpq parameters in
    /// ``passedThroughParameters`` (`?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`).
    public init(url: String, key: String = "url") throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgresql" || components.scheme == "postgres",
            let host = components.host, !host.isEmpty
        else {
            throw PostgresError(.invalidConfiguration, "\(key): expected postgresql://user:password@host:port/database, got \"\(CredentialRedaction.redact(url))\"")
        }
        self.init(host: host)
        if let port = components.port {
            guard (1...65535).contains(port) else {
                throw PostgresError(.invalidConfiguration, "\(key): port \(port) is out of range")
            }
            self.port = port
        }
        if let user = components.user, !user.isEmpty { self.user = user }
        if let password = components.password { self.password = password }
        let path = components.path.drop(while: { $0 == "/" })
        if !path.isEmpty { self.database = String(path) }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "pool_size", "maximum_connections":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw PostgresError(.invalidConfiguration, "\(key): \(item.name) must be a positive integer")
                }
                self.maximumConnections = value
            case "connect_timeout":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw PostgresError(.invalidConfiguration, "\(key): connect_timeout must be a positive number of seconds")
                }
                self.connectTimeout = .seconds(value)
            case "application_name":
                self.applicationName = item.value ?? applicationName
            case let name where Self.passedThroughParameters.contains(name):
                let value = item.value ?? ""
                if let allowed = Self.knownValues[name], !allowed.contains(value) {
                    throw PostgresError(
                        .invalidConfiguration, "\(key): \(name) must be one of \(allowed.sorted().joined(separator: ", ")), got \"\(value)\"")
                }
                self.libpqParameters[name] = value
            default:
                throw PostgresError(
                    .invalidConfiguration,
                    "\(key): unknown option \"\(item.name)\" (libpq parameters taken: \(Self.passedThroughParameters.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// `host:port`, as used in error messages.
    public var address: String { "\(host):\(port)" }
}
