public import DomainRuntime

/// `emporium grpc`'s address and its service token. Keys: ``GRPCKeys``.
public struct GRPCSettings: Sendable {
    public var host: String
    public var port: Int
    /// What another service sends as `authorization: Bearer <token>` (nil: only customers' and
    /// admins' access tokens are accepted).
    public var serviceToken: String?

    public init(settings reader: SettingsReader) throws {
        let keys = GRPCKeys()
        host = try reader.value(keys.host)
        port = try reader.value(keys.port)
        serviceToken = try reader.value(keys.serviceToken)
        if let token = serviceToken, token.utf8.count < 32 {
            throw ConfigurationError(key: keys.serviceToken.name, message: "must be at least 32 characters")
        }
    }
}

public struct GRPCKeys: SettingGroup {
    public var title: String { "gRPC" }

    public init() {}

    public let host = Setting.text("GRPC_HOST", default: "127.0.0.1", meaning: "`emporium grpc`'s address")
    public let port = Setting.integer("GRPC_PORT", default: 50051, in: 0...65535, meaning: "`0` picks a free port, logged at start")
    public let serviceToken = Setting.optionalText(
        "GRPC_SERVICE_TOKEN", defaultText: "(none: only customers' and admins' access tokens)", secrecy: .whole,
        meaning: "the bearer token other services send in the `authorization` metadata (at least 32 characters); such a caller may "
            + "read any customer's orders and place orders for any customer")
}
