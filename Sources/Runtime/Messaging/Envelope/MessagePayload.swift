/// A message body type: its wire name and the newest schema version this code understands.
public protocol MessagePayload: Codable, Sendable {
    /// e.g. `order.created`.
    static var messageType: String { get }
    /// A message with a higher version than this is not guessed at: it is dead-lettered as
    /// `unsupported_schema_version`, to be replayed once a consumer that knows it is deployed.
    static var schemaVersion: Int { get }
}

extension MessagePayload {
    public static var schemaVersion: Int { 1 }
}
