/// An error from the AMQP wrapper.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case connectionFailed = "connection failed"
            case connectionLost = "connection lost"
            case server = "server refused"
            case nacked = "publish not confirmed"
            case returned = "message returned"
            case closed = "connection closed"
            case invalidConfiguration = "invalid configuration"
        }
        let base: Base
        public static let connectionFailed = Code(base: .connectionFailed)
        public static let connectionLost = Code(base: .connectionLost)
        public static let server = Code(base: .server)
        public static let nacked = Code(base: .nacked)
        public static let returned = Code(base: .returned)
        public static let closed = Code(base: .closed)
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// rabbitmq-c's status or the server's reply code.
    public let nativeCode: Int32?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, nativeCode: Int32? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
        self.file = file
        self.line = line
    }

    /// Lost or refused connections and nacks may succeed on another try, and so may a server
    /// refusal that reports the server's own trouble (see `transientReplyCodes`); a declaration
    /// the server refuses for what it asks, a returned (unroutable) message or a closed client will not.
    public var isRetriable: Bool {
        switch code.base {
        case .connectionFailed, .connectionLost, .nacked: true
        case .server: nativeCode.map(Self.transientReplyCodes.contains) ?? false
        case .returned, .closed, .invalidConfiguration: false
        }
    }

    /// AMQP reply codes that speak of the server's state, not of the request: 320
    /// connection-forced (a broker shutting down), 506 resource-error and 541 internal-error
    /// (RabbitMQ answers a quorum-queue declaration with `541 ... cluster_not_formed` while its
    /// Raft cluster is slow to elect a leader, as on a loaded machine).
    static let transientReplyCodes: Set<Int32> = [320, 506, 541]

    public var description: String { "AMQP \(code): \(message)" }
}
