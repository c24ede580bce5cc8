public import Foundation

/// TLS for a connection to RabbitMQ or Redis, on with the URL's scheme (`amqps://`, `rediss://`).
/// The URL's query names the files, as RabbitMQ's URI specification does:
///
/// - `cacertfile`: the CA certificates (PEM) the server's certificate must chain to; without it,
///   the system's (`/etc/ssl/certs/ca-certificates.crt`).
/// - `certfile` and `keyfile`: a client certificate and its key (PEM), for servers that ask for one.
/// - `verify=verify_none`: no check of the server's certificate or name. Only for a test bench:
///   it lets anyone in the middle read the traffic.
public struct TLSSettings: Sendable, Equatable {
    public static let systemCAFile = "/etc/ssl/certs/ca-certificates.crt"

    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    /// Check the server's certificate chain and its name.
    public var verifyPeer: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, verifyPeer: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
    }

    /// The query item names this type reads.
    public static let queryItemNames: Set<String> = ["cacertfile", "certfile", "keyfile", "verify"]

    /// The CA file to load: the configured one, or the system's.
    public var effectiveCAFile: String { caFile ?? Self.systemCAFile }

    /// Reads the TLS query items of a URL held by `key`. With `enabled` false (a plain scheme),
    /// any TLS item is a mistake, and says so. Files must exist and be readable: a wrong path
    /// stops start-up here, naming the key, rather than failing every connection later.
    public static func parse(_ items: [URLQueryItem], enabled: Bool, secureScheme: String, key: String) throws(TLSSettingsError) -> TLSSettings? {
        let tlsItems = items.filter { queryItemNames.contains($0.name) }
        guard enabled else {
            if let item = tlsItems.first {
                throw TLSSettingsError(message: "\(key): \(item.name) is a TLS option; TLS needs the \(secureScheme):// scheme")
            }
            return nil
        }
        var settings = TLSSettings()
        for item in tlsItems {
            let value = item.value ?? ""
            switch item.name {
            case "cacertfile": settings.caFile = try readableFile(value, item.name, key)
            case "certfile": settings.certificateFile = try readableFile(value, item.name, key)
            case "keyfile": settings.keyFile = try readableFile(value, item.name, key)
            case "verify":
                switch value {
                case "verify_peer": settings.verifyPeer = true
                case "verify_none": settings.verifyPeer = false
                default: throw TLSSettingsError(message: "\(key): verify must be verify_peer or verify_none, got \"\(value)\"")
                }
            default: break
            }
        }
        guard (settings.certificateFile == nil) == (settings.keyFile == nil) else {
            throw TLSSettingsError(message: "\(key): certfile and keyfile go together (a client certificate and its key)")
        }
        if settings.caFile == nil && settings.verifyPeer {
            _ = try readableFile(systemCAFile, "the system's CA file (no cacertfile given)", key)
        }
        return settings
    }

    private static func readableFile(_ path: String, _ name: String, _ key: String) throws(TLSSettingsError) -> String {
        guard !path.isEmpty, FileManager.default.isReadableFile(atPath: path) else {
            throw TLSSettingsError(message: "\(key): \(name) \"\(path)\" is not a readable file")
        }
        return path
    }
}

public struct TLSSettingsError: Error, Sendable {
    public let message: String
}
