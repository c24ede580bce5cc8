/// A message body type: its wire name and the newest schema version this code understands.
public protocol MessagePayload: Codable, Sendable {
    /// e.g. `order.created`.
    static var messageType: String { get }
    /// A message with a higher version than this is not guessed at: it is dead-lettered as
    /// `unsupported_schema_version`, to be replayed once a consumer that knows it is deployed.
    static var schemaVersion: Int { get }
    /// Whether this message carries a secret (a verification code): its outbox row's body is
    /// emptied once it is published, so no copy outlives the message.
    var carriesSecret: Bool { get }
}

extension MessagePayload {
    public static var schemaVersion: Int { 1 }
    public var carriesSecret: Bool { false }
}
