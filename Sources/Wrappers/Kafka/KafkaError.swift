import CRdKafka

/// An error from the Kafka wrapper, with librdkafka's code when it came from there.
///
/// Retry logic decides on ``isRetriable``; ``isFatal`` means the client instance cannot go on.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case configuration = "invalid configuration"
            case client = "client error"
            case delivery = "delivery failed"
            case closed = "client closed"
            case timedOut = "timed out"
        }
        let base: Base
        public static let configuration = Code(base: .configuration)
        public static let client = Code(base: .client)
        public static let delivery = Code(base: .delivery)
        public static let closed = Code(base: .closed)
        public static let timedOut = Code(base: .timedOut)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// librdkafka's `rd_kafka_resp_err_t`, when there is one.
    public let nativeCode: Int32?
    public let isRetriable: Bool
    public let isFatal: Bool
    public let file: String
    public let line: Int

    init(
        _ code: Code, _ message: String, nativeCode: Int32? = nil, isRetriable: Bool = false, isFatal: Bool = false,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    /// From a librdkafka response code; `context` says what was being done.
    init(_ code: Code, _ context: String, responseError: rd_kafka_resp_err_t, file: String = #fileID, line: Int = #line) {
        let raw = Int32(responseError.rawValue)
        self.init(
            code, "\(context): \(String(cString: rd_kafka_err2str(responseError))) (\(String(cString: rd_kafka_err2name(responseError))))",
            nativeCode: raw, isRetriable: Self.transientCodes.contains(raw), file: file, line: line)
    }

    /// From an `rd_kafka_error_t`, which it destroys.
    init(_ code: Code, _ context: String, consuming error: OpaquePointer, file: String = #fileID, line: Int = #line) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code, "\(context): \(String(cString: rd_kafka_error_string(error)))",
            nativeCode: Int32(rd_kafka_error_code(error).rawValue),
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.transientCodes.contains(Int32(rd_kafka_error_code(error).rawValue)),
            isFatal: rd_kafka_error_is_fatal(error) != 0, file: file, line: line)
    }

    /// librdkafka codes that describe a passing condition: brokers down or moving, time-outs, a full queue.
    static let transientCodes: Set<Int32> = [
        -195, -187, -185, -192, -184, -193,  // transport, all brokers down, timed out, message timed out, queue full, ...
        5, 6, 7, 13, 14, 15, 16, 19, 20,    // leader not available, not leader, request timed out, network, coordinator, not enough replicas
    ]

    public var description: String { "Kafka \(code): \(message)" }
}
