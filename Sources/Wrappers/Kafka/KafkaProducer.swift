import CRdKafka
public import Logging
public import ServiceLifecycle

/// Sends messages to Kafka. `send` returns once the broker acknowledged the message (acks=all,
/// idempotent producer) and throws if it could not be delivered.
///
/// A `Service`: ``run()`` serves librdkafka's delivery reports on a dedicated thread until
/// graceful shutdown, then flushes what is in flight (failing what cannot be sent in time).
public final class KafkaProducer: Service, Sendable {
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
                let delivery = Unmanaged<PendingDelivery>.fromOpaque(opaque).takeRetainedValue()
                delivery.complete(message.pointee)
            }
        }
        return KafkaProducer(client: client, configuration: configuration)
    }

    /// Sends one message and waits for the broker's acknowledgement.
    @discardableResult
    public func send(_ message: KafkaOutgoingMessage) async throws -> KafkaDeliveryReport {
        var backoff = Duration.microseconds(100)
        while true {
            guard !pollThread.isStopping else { throw KafkaError(.closed, "the producer is shutting down") }
            switch try await attemptSend(message) {
            case .delivered(let report):
                return report
            case .queueFull:
                // A full local queue is back-pressure: wait for deliveries to drain it.
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(10))
            }
        }
    }

    fileprivate enum SendOutcome: Sendable {
        case delivered(KafkaDeliveryReport)
        case queueFull
    }

    private func attemptSend(_ message: KafkaOutgoingMessage) async throws -> SendOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let pending = Unmanaged.passRetained(PendingDelivery(continuation))
            guard let error = enqueue(message, opaque: pending.toOpaque()) else { return }
            pending.release()
            if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_error_destroy(error)
                continuation.resume(returning: .queueFull)
            } else {
                continuation.resume(throwing: KafkaError(.delivery, "cannot enqueue a message for \(message.topic)", consuming: error))
            }
        }
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
        return message.value.withUnsafeBytes { value in
            if let key = message.key {
                return key.withUnsafeBytes { key in
                    // An empty key is still a key (not NULL): any non-NULL pointer with length 0.
                    emp_kafka_produce(client.handle, message.topic, key.baseAddress ?? UnsafeRawPointer(opaque), key.count,
                                      value.baseAddress, value.count, headers, opaque)
                }
            }
            return emp_kafka_produce(client.handle, message.topic, nil, 0, value.baseAddress, value.count, headers, opaque)
        }
    }

    /// Waits until every message in flight was acknowledged or failed, up to `timeout`.
    public func flush(timeout: Duration) async throws {
        let client = self.client
        let milliseconds = Int32(timeout.kafkaMilliseconds)
        let result = await Task.detached { rd_kafka_flush(client.handle, milliseconds) }.value
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

/// One `send` waiting for its delivery report; passed to librdkafka as the message's opaque.
private final class PendingDelivery: @unchecked Sendable {
    private let continuation: CheckedContinuation<KafkaProducer.SendOutcome, any Error>

    init(_ continuation: CheckedContinuation<KafkaProducer.SendOutcome, any Error>) {
        self.continuation = continuation
    }

    /// Called once, from the delivery report callback.
    func complete(_ message: rd_kafka_message_t) {
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            continuation.resume(returning: .delivered(KafkaDeliveryReport(
                topicPartition: KafkaTopicPartition(topic: topic, partition: message.partition), offset: message.offset)))
        } else {
            continuation.resume(throwing: KafkaError(.delivery, "delivery to \(topic) failed", responseError: message.err))
        }
    }
}
