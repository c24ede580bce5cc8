import ConnectionPool
import CRdKafka
import Glibc
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
    private let pollThread = KafkaPollThread(name: "kafka.producer")
    private let gate = EnqueueGate()
    /// Tests only: runs in `send` before a batch's first message is enqueued, to place a shutdown
    /// exactly there. Set before the producer is used.
    nonisolated(unsafe) var beforeFirstEnqueue: (@Sendable () async -> Void)?

    private init(client: RDKafkaClient, configuration: KafkaProducerConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    /// Creates the producer; an unknown key or a bad value fails with the key's name.
    public static func make(configuration: KafkaProducerConfiguration, logger: Logger) throws -> KafkaProducer {
        let client = try RDKafkaClient.make(type: RD_KAFKA_PRODUCER, properties: configuration.properties, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let report = message.pointee
                PendingBatch.complete(
                    opaque, partition: report.partition, offset: report.offset,
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
        let batch = PendingBatch(messages: messages)
        var topic: (name: String, handle: OpaquePointer?)?
        for index in messages.indices {
            let name = messages[index].topic
            if topic?.name != name { topic = (name, topics.handle(for: name, client: client)) }
            var backoff = Duration.microseconds(100)
            if index == 0, let hook = beforeFirstEnqueue { await hook() }
            while true {
                // The check for shutdown and the enqueue are one step for the poll thread's
                // `finish`: it closes the gate and waits for the enqueues inside it before its last
                // flush, so every message enqueued has its delivery report served.
                guard !pollThread.isStopping, gate.enter() else {
                    batch.fail(from: index, KafkaError(.closed, "the producer is shutting down"))
                    return try await batch.reports()
                }
                let failed = enqueue(messages[index], topic: topic?.handle, opaque: batch.opaque(for: index))
                gate.leave()
                guard let error = failed else { break }
                if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    rd_kafka_error_destroy(error)
                    do {
                        try await Task.sleep(for: backoff)
                    } catch {
                        // Cancelled while waiting for room. The messages already enqueued are
                        // librdkafka's to deliver (they read the batch's values until then): wait
                        // for their outcomes as for any batch cut short, and fail the rest (worth
                        // another try: nothing is wrong with them).
                        batch.fail(from: index, KafkaError(.closed, "cancelled while waiting for room in the producer's queue", isRetriable: true))
                        return try await batch.reports()
                    }
                    backoff = min(backoff * 2, .milliseconds(10))
                    continue
                }
                batch.fail(from: index, KafkaError(.delivery, "cannot enqueue a message for \(name)", consuming: error))
                return try await batch.reports()
            }
        }
        return try await batch.reports()
    }

    private func enqueue(_ message: KafkaOutgoingMessage, topic: OpaquePointer?, opaque: UnsafeMutableRawPointer) -> OpaquePointer? {
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
        // librdkafka reads the value in place until the message's delivery report (it is not
        // copied; see emp_kafka_produce). The batch passed as `opaque` holds `message`'s array
        // until then, and an array's elements neither move nor change while a reference is held
        // (a writer through another copy gets storage of its own).
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
        let milliseconds = Int32(timeout.wholeMilliseconds)
        let result = try await client.blocking { rd_kafka_flush(client.handle, milliseconds) }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.timedOut, "flush", responseError: result)
        }
    }

    // MARK: - Service

    public func run() async throws {
        let client = self.client
        let flushTimeout = Int32(configuration.flushTimeout.wholeMilliseconds)
        await pollThread.run {
            rd_kafka_poll(client.handle, 100)
        } finish: { [gate] in
            // No enqueue after this point; then deliver what can be delivered in time, and fail
            // the rest.
            gate.close()
            rd_kafka_flush(client.handle, flushTimeout)
            rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(client.handle, 0)
        }
    }
}

/// Lets senders enqueue until `close`, which returns once no enqueue is under way: a sender that
/// got in enqueues before the producer's last flush, one that did not fails at once. Lock-free for
/// the senders (two atomic additions a message); only the closing thread waits.
final class EnqueueGate: Sendable {
    /// Bit 0: closed. The rest: twice the number of senders inside.
    private let state = Atomic<Int>(0)

    /// False once closed (the sender must not enqueue); else the caller must `leave()`.
    func enter() -> Bool {
        if state.wrappingAdd(2, ordering: .acquiring).newValue & 1 == 0 { return true }
        leave()
        return false
    }

    func leave() {
        state.wrappingSubtract(2, ordering: .releasing)
    }

    func close() {
        state.bitwiseOr(1, ordering: .sequentiallyConsistent)
        while state.load(ordering: .acquiring) != 1 { sched_yield() }
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
/// message). Each delivery report is for a different slot, so reports are recorded without a
/// lock, whichever thread serves them (the poll thread, or a `flush` at the same time); an atomic
/// count says when the last one is in. A slot is 24 bytes (a report touches memory written on
/// another thread a while ago, so the fewer cache lines the better): the rare failures are kept
/// aside under a lock, and a slot's index is its distance from the first.
final class PendingBatch: @unchecked Sendable {
    /// What a delivery report needs: the batch, and room for where the message was stored.
    struct Slot {
        let batch: Unmanaged<PendingBatch>
        var offset: Int64 = -1
        var partition: Int32 = -1
    }

    /// Held until the last delivery report: librdkafka reads each value from this storage.
    private let messages: [KafkaOutgoingMessage]
    private let slots: UnsafeMutablePointer<Slot>
    private let remaining: Atomic<Int>
    private struct Waiter {
        var continuation: CheckedContinuation<[KafkaDeliveryReport], any Error>?
        var result: Result<[KafkaDeliveryReport], any Error>?
        /// The first failure: a delivery that failed (by index) or a send that stopped enqueueing.
        var failure: (index: Int, error: KafkaError)?
    }
    private let waiter = Mutex(Waiter())

    init(messages: [KafkaOutgoingMessage]) {
        self.messages = messages
        self.remaining = Atomic(messages.count)
        self.slots = .allocate(capacity: max(1, messages.count))
        // The slots hold the batch until the last outcome is in (released by whoever counts it:
        // `complete` or `fail`).
        let reference = Unmanaged.passRetained(self)
        slots.initialize(repeating: Slot(batch: reference), count: messages.count)
        if messages.isEmpty { reference.release() }
    }

    deinit {
        slots.deinitialize(count: messages.count)
        slots.deallocate()
    }

    func opaque(for index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    /// Records one report (from librdkafka's delivery callback: once per enqueued message).
    static func complete(_ opaque: UnsafeMutableRawPointer, partition: Int32, offset: Int64, error: KafkaError?) {
        let slot = opaque.assumingMemoryBound(to: Slot.self)
        slot.pointee.partition = partition
        slot.pointee.offset = offset
        let reference = slot.pointee.batch
        // The slots' own reference keeps the batch alive until the last report: no retain here.
        let last = reference._withUnsafeGuaranteedRef { batch in
            if let error { batch.failed(at: slot - batch.slots, error) }
            return batch.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0
        }
        if last {
            reference._withUnsafeGuaranteedRef { $0.finish() }
            reference.release()
        }
    }

    /// Keeps the failure of the lowest index (reports of different partitions come in any order).
    private func failed(at index: Int, _ error: KafkaError) {
        waiter.withLock { state in
            if state.failure.map({ index < $0.index }) ?? true { state.failure = (index, error) }
        }
    }

    /// Messages from `index` on were never enqueued: they fail with `error`.
    func fail(from index: Int, _ error: KafkaError) {
        failed(at: index, error)
        let never = messages.count - index
        if remaining.subtract(never, ordering: .acquiringAndReleasing).newValue == 0 {
            finish()
            slots.pointee.batch.release()
        }
    }

    /// Waits for every outcome; throws the first failure.
    func reports() async throws -> [KafkaDeliveryReport] {
        if messages.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let result = waiter.withLock { state -> Result<[KafkaDeliveryReport], any Error>? in
                if let result = state.result { return result }
                state.continuation = continuation
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// Runs once, when the last outcome is in: builds the result and wakes the waiter.
    private func finish() {
        let failure = waiter.withLock { $0.failure }
        var reports: [KafkaDeliveryReport] = []
        if failure == nil {
            reports.reserveCapacity(messages.count)
            for index in 0..<messages.count {
                reports.append(KafkaDeliveryReport(
                    topicPartition: KafkaTopicPartition(topic: messages[index].topic, partition: slots[index].partition),
                    offset: slots[index].offset))
            }
        }
        let (continuation, result) = waiter.withLock { state in
            let result: Result<[KafkaDeliveryReport], any Error> = failure.map { .failure($0.error) } ?? .success(reports)
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, result)
        }
        continuation?.resume(with: result)
    }
}
