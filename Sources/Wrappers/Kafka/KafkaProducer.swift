import CRdKafka
public import Logging
public import ServiceLifecycle
import Synchronization

/// Sends messages to Kafka. `send` returns once the broker acknowledged the message (acks=all,
/// idempotent producer) and throws if it could not be delivered.
///
/// A `Service`: ``run()`` serves librdkafka's delivery reports on a dedicated thread until
/// graceful shutdown, then flushes what is in flight (failing what cannot be sent in time).
public final class KafkaProducer: Service, Sendable {
    // Declaration order is teardown order: topic handles must go before the client that owns them.
    /// Topic handles by name (thread-safe in librdkafka), so producing skips a lookup per message.
    private let topics = TopicHandles()
    let client: RDKafkaClient
    private let configuration: KafkaProducerConfiguration
    private let pollThread = KafkaPollThread(name: "emporium.kafka.producer")

    private init(client: RDKafkaClient, configuration: KafkaProducerConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    /// Creates the producer; an unknown key or a bad value fails with the key's name.
    public static func make(configuration: KafkaProducerConfiguration, logger: Logger) throws -> KafkaProducer {
        let client = try RDKafkaClient.make(type: RD_KAFKA_PRODUCER, properties: configuration.properties, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let slot = opaque.assumingMemoryBound(to: PendingBatch.Slot.self).pointee
                let report = message.pointee
                slot.batch.takeUnretainedValue().complete(
                    slot.index, partition: report.partition, offset: report.offset,
                    error: report.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(.delivery, "delivery failed", responseError: report.err))
            }
        }
        return KafkaProducer(client: client, configuration: configuration)
    }

    /// Sends one message and waits for the broker's acknowledgement.
    @discardableResult
    public func send(_ message: KafkaOutgoingMessage) async throws -> KafkaDeliveryReport {
        try await send([message])[0]
    }

    /// Sends a batch and waits until the broker acknowledged every message; throws the first
    /// failure (after every message was either acknowledged or failed). Messages keep their order
    /// per partition. A full local queue is back-pressure: enqueueing waits for room.
    @discardableResult
    public func send(_ messages: [KafkaOutgoingMessage]) async throws -> [KafkaDeliveryReport] {
        let batch = PendingBatch(topics: messages.map(\.topic))
        for (index, message) in messages.enumerated() {
            var backoff = Duration.microseconds(100)
            while true {
                if pollThread.isStopping {
                    batch.fail(from: index, KafkaError(.closed, "the producer is shutting down"))
                    return try await batch.reports()
                }
                guard let error = enqueue(message, opaque: batch.opaque(for: index)) else { break }
                if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    rd_kafka_error_destroy(error)
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .milliseconds(10))
                    continue
                }
                batch.fail(from: index, KafkaError(.delivery, "cannot enqueue a message for \(message.topic)", consuming: error))
                return try await batch.reports()
            }
        }
        return try await batch.reports()
    }

    private func enqueue(_ message: KafkaOutgoingMessage, opaque: UnsafeMutableRawPointer) -> OpaquePointer? {
        let headers: OpaquePointer? = message.headers.isEmpty ? nil : rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
            }
        }
        let topic = topics.handle(for: message.topic, client: client)
        return message.value.withUnsafeBytes { value in
            if let key = message.key {
                return key.withUnsafeBytes { key in
                    // An empty key is still a key (not NULL): any non-NULL pointer with length 0.
                    emp_kafka_produce(client.handle, topic, message.topic, key.baseAddress ?? UnsafeRawPointer(opaque), key.count,
                                      value.baseAddress, value.count, headers, opaque)
                }
            }
            return emp_kafka_produce(client.handle, topic, message.topic, nil, 0, value.baseAddress, value.count, headers, opaque)
        }
    }

    /// Waits until every message in flight was acknowledged or failed, up to `timeout`.
    public func flush(timeout: Duration) async throws {
        let client = self.client
        let milliseconds = Int32(timeout.kafkaMilliseconds)
        let result = try await client.blocking { rd_kafka_flush(client.handle, milliseconds) }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.timedOut, "flush", responseError: result)
        }
    }

    // MARK: - Service

    public func run() async throws {
        let client = self.client
        let flushTimeout = Int32(configuration.flushTimeout.kafkaMilliseconds)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await pollThread.run {
                    rd_kafka_poll(client.handle, 100)
                } finish: {
                    // Deliver what can be delivered in time, then fail the rest.
                    rd_kafka_flush(client.handle, flushTimeout)
                    rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                    rd_kafka_poll(client.handle, 0)
                }
            } onGracefulShutdown: {
                self.pollThread.stop()
            }
        } onCancel: {
            self.pollThread.stop()
        }
    }
}

/// `rd_kafka_topic_t` handles by name; destroyed with the producer, before its client.
final class TopicHandles: Sendable {
    private let handles = Mutex<[String: TopicHandle]>([:])

    func handle(for name: String, client: RDKafkaClient) -> OpaquePointer? {
        handles.withLock { handles in
            if let handle = handles[name] { return handle.pointer }
            guard let pointer = rd_kafka_topic_new(client.handle, name, nil) else { return nil }
            handles[name] = TopicHandle(pointer: pointer)
            return pointer
        }
    }
}

/// One topic handle; librdkafka documents them as thread-safe.
final class TopicHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(pointer: OpaquePointer) { self.pointer = pointer }
    deinit { rd_kafka_topic_destroy(pointer) }
}

/// A batch of sends waiting for their delivery reports.
///
/// Each message's opaque points at its slot in one buffer of the batch's own (no allocation per
/// message); the buffer keeps the batch alive until the last report arrived.
final class PendingBatch: @unchecked Sendable {
    /// What a delivery report needs: the batch and the message's position in it.
    struct Slot {
        let batch: Unmanaged<PendingBatch>
        let index: Int
    }

    private struct State {
        var partitions: [Int32]
        var offsets: [Int64]
        var remaining: Int
        var firstError: KafkaError?
        var continuation: CheckedContinuation<[KafkaDeliveryReport], any Error>?
    }
    private let state: Mutex<State>
    private let topics: [String]
    private let slots: UnsafeMutablePointer<Slot>
    private let count: Int
    /// Held by the slots while any report is outstanding.
    private var selfReference: Unmanaged<PendingBatch>?

    init(topics: [String]) {
        self.topics = topics
        self.count = topics.count
        self.state = Mutex(State(
            partitions: Array(repeating: 0, count: topics.count), offsets: Array(repeating: -1, count: topics.count), remaining: topics.count))
        self.slots = .allocate(capacity: max(1, topics.count))
        let reference = Unmanaged.passRetained(self)
        selfReference = reference
        for index in 0..<topics.count { (slots + index).initialize(to: Slot(batch: reference, index: index)) }
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func opaque(for index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    /// Records one message's outcome (from the delivery report callback, on the poll thread).
    func complete(_ index: Int, partition: Int32, offset: Int64, error: KafkaError?) {
        let resume = state.withLock { state -> Completion? in
            if let error {
                if state.firstError == nil { state.firstError = error }
            } else {
                state.partitions[index] = partition
                state.offsets[index] = offset
            }
            state.remaining -= 1
            return finishIfDone(&state)
        }
        resume?.run()
    }

    /// Messages from `index` on were never enqueued: they fail with `error`.
    func fail(from index: Int, _ error: KafkaError) {
        let resume = state.withLock { state -> Completion? in
            if state.firstError == nil { state.firstError = error }
            state.remaining -= count - index
            return finishIfDone(&state)
        }
        resume?.run()
    }

    /// Waits for every outcome.
    func reports() async throws -> [KafkaDeliveryReport] {
        try await withCheckedThrowingContinuation { continuation in
            let resume = state.withLock { state -> Completion? in
                state.continuation = continuation
                return finishIfDone(&state)
            }
            resume?.run()
        }
    }

    private struct Completion {
        let continuation: CheckedContinuation<[KafkaDeliveryReport], any Error>
        let result: Result<[KafkaDeliveryReport], any Error>
        let release: Unmanaged<PendingBatch>?
        func run() {
            continuation.resume(with: result)
            release?.release()
        }
    }

    private func finishIfDone(_ state: inout State) -> Completion? {
        guard state.remaining == 0, let continuation = state.continuation else { return nil }
        state.continuation = nil
        let release = selfReference
        selfReference = nil
        if let error = state.firstError { return Completion(continuation: continuation, result: .failure(error), release: release) }
        let reports = (0..<count).map {
            KafkaDeliveryReport(topicPartition: KafkaTopicPartition(topic: topics[$0], partition: state.partitions[$0]), offset: state.offsets[$0])
        }
        return Completion(continuation: continuation, result: .success(reports), release: release)
    }
}
