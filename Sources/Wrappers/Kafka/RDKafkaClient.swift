import CRdKafka
import Logging

/// Owns one `rd_kafka_t`. librdkafka documents its handles as thread-safe, which is why this is
/// `@unchecked Sendable`: any thread may produce, poll or query through it.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    /// What the C callbacks reach through `rd_kafka_opaque`. Released in `deinit` after
    /// `rd_kafka_destroy`, the last point at which librdkafka can call back.
    private let context: Unmanaged<KafkaClientContext>

    private init(handle: OpaquePointer, context: Unmanaged<KafkaClientContext>) {
        self.handle = handle
        self.context = context
    }

    deinit {
        rd_kafka_destroy(handle)
        context.release()
    }

    /// Creates a producer or consumer handle from `properties`; a refused key or value throws an
    /// error naming it. `configure` may install further callbacks on the configuration.
    static func make(
        type: rd_kafka_type_t, properties: [String: String], logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws -> RDKafkaClient {
        guard let configuration = rd_kafka_conf_new() else {
            throw KafkaError(.configuration, "cannot allocate a configuration")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            guard rd_kafka_conf_set(configuration, key, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(configuration)
                throw KafkaError(.configuration, "\(key)=\(value): \(errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
            }
        }
        let context = Unmanaged.passRetained(KafkaClientContext(logger: logger))
        rd_kafka_conf_set_opaque(configuration, context.toOpaque())
        rd_kafka_conf_set_log_cb(configuration) { client, level, facility, message in
            guard let client, let context = KafkaClientContext.of(client) else { return }
            context.log(level: level, facility: facility.map { String(cString: $0) } ?? "", message: message.map { String(cString: $0) } ?? "")
        }
        rd_kafka_conf_set_error_cb(configuration) { client, code, reason, _ in
            guard let client, let context = KafkaClientContext.of(client) else { return }
            context.logger.warning("kafka client error", metadata: [
                "kafka.error": "\(String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: code))))",
                "kafka.reason": "\(reason.map { String(cString: $0) } ?? "")",
            ])
        }
        configure(configuration)
        // On success rd_kafka_new takes the configuration; on failure it stays ours.
        guard let handle = rd_kafka_new(type, configuration, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(configuration)
            context.release()
            throw KafkaError(.configuration, "cannot create the client: \(errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
        }
        return RDKafkaClient(handle: handle, context: context)
    }

    var logger: Logger { context.takeUnretainedValue().logger }
}

/// Shared with librdkafka's callbacks: the logger, and what the consumer's rebalance needs.
final class KafkaClientContext: @unchecked Sendable {
    let logger: Logger
    /// When each partition now assigned to this consumer was assigned (set by the rebalance callback).
    let assignments = Mutex<[KafkaTopicPartition: ContinuousClock.Instant]>([:])
    /// Set by each assignment of the consumer group (which may be empty: more members than
    /// partitions), cleared when the assignment is lost: whether the consumer is a member.
    let joinedGroup = Mutex(false)

    init(logger: Logger) {
        self.logger = logger
    }

    static func of(_ client: OpaquePointer) -> KafkaClientContext? {
        guard let opaque = rd_kafka_opaque(client) else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// librdkafka logs with syslog levels (0 emergency ... 7 debug).
    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level = switch level {
        case ...3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
        logger.log(level: swiftLevel, "\(message)", metadata: ["kafka.facility": "\(facility)"])
    }
}

import Dispatch
import Synchronization

extension RDKafkaClient {
    /// Runs a blocking librdkafka call (metadata, commit, seek) on a thread of its own, never on
    /// Swift's cooperative pool. (Not `DispatchQueue.global()`: on Linux the cooperative pool runs
    /// on those very threads, so blocking them stalls every task.)
    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingCalls.async { continuation.resume(with: Result(catching: work)) }
        }
    }
}

/// A concurrent queue of its own: it gets threads beyond the core count when calls block.
private let blockingCalls = DispatchQueue(label: "emporium.kafka.blocking", attributes: .concurrent)

/// A `rd_kafka_topic_partition_list_t` built from Swift values, destroyed with the value.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [(KafkaTopicPartition, offset: Int64?)]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for (partition, offset) in partitions {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
            if let offset { element?.pointee.offset = offset }
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Each element with its offset and error code.
    static func elements(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition), element.offset, element.err)
        }
    }
}
