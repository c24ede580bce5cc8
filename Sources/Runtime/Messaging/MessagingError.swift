import AMQP
import Kafka
import Postgres
import Redis

/// Errors of the messaging runtime, and how a handler says whether a failure is worth retrying.
public struct MessagingError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String {
            case poisonMessage = "poison_message"
            case unsupportedSchemaVersion = "unsupported_schema_version"
            case permanent
            case transient
            case configuration
        }
        let base: Base
        /// The message cannot be read: a required header is missing or the body does not decode.
        public static let poisonMessage = Code(base: .poisonMessage)
        /// The message is newer than the handler understands.
        public static let unsupportedSchemaVersion = Code(base: .unsupportedSchemaVersion)
        /// The handler failed in a way a retry cannot fix.
        public static let permanent = Code(base: .permanent)
        /// The handler failed in a way a retry may fix.
        public static let transient = Code(base: .transient)
        public static let configuration = Code(base: .configuration)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var isRetriable: Bool { code == .transient }
    public var description: String { "\(code): \(message)" }

    /// A failure a retry cannot fix: the message goes straight to its dead-letter destination.
    public static func permanent(_ message: String, file: String = #fileID, line: Int = #line) -> MessagingError {
        MessagingError(.permanent, message, file: file, line: line)
    }

    /// A failure a retry may fix: retried with backoff up to the configured attempts.
    public static func transient(_ message: String, file: String = #fileID, line: Int = #line) -> MessagingError {
        MessagingError(.transient, message, file: file, line: line)
    }
}

/// What the runtime records of a failed attempt, and whether to try again.
public struct HandlingFailure: Sendable, Hashable, CustomStringConvertible {
    /// A short machine-readable name: `poison_message`, `postgres.server`, `DecodingError`...
    public var errorType: String
    public var message: String
    public var isRetriable: Bool
    /// The database could not be reached (connection refused or lost, pool exhausted, server
    /// starting or shutting down, too many connections), or the work was interrupted (shutdown):
    /// not the message's fault. The processor keeps this only for failures before the handler
    /// ran; consumers then wait without using up the message's attempts.
    public var isInfrastructure: Bool

    public init(errorType: String, message: String, isRetriable: Bool, isInfrastructure: Bool = false) {
        self.errorType = errorType
        self.message = message
        self.isRetriable = isRetriable
        self.isInfrastructure = isInfrastructure
    }

    /// Classifies an error by the `isRetriable` of the module that threw it. Errors the runtime
    /// does not know are treated as transient: retried, then dead-lettered, never dropped.
    public init(_ error: any Error) {
        switch error {
        case let error as MessagingError:
            self.init(errorType: error.code.description, message: error.message, isRetriable: error.isRetriable)
        case let error as PostgresError:
            self.init(
                errorType: "postgres.\(error.sqlState ?? error.code.description)", message: error.message, isRetriable: error.isRetriable,
                isInfrastructure: PostgresOutage.isOutage(error))
        case let error as RedisError:
            self.init(errorType: "redis.\(error.code)", message: error.message, isRetriable: error.isRetriable)
        case let error as KafkaError:
            self.init(errorType: "kafka.\(error.code)", message: error.message, isRetriable: error.isRetriable)
        case let error as AMQPError:
            self.init(errorType: "amqp.\(error.code)", message: error.message, isRetriable: error.isRetriable)
        case is DecodingError:
            self.init(errorType: MessagingError.Code.poisonMessage.description, message: "\(error)", isRetriable: false)
        case is CancellationError:
            self.init(errorType: "cancelled", message: "the handler was cancelled", isRetriable: true, isInfrastructure: true)
        default:
            self.init(errorType: String(describing: type(of: error)), message: "\(error)", isRetriable: true)
        }
    }

    public var description: String { "\(errorType): \(message)" }
}
