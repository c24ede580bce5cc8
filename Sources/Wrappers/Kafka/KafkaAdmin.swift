import CRdKafka

/// A topic to create: its name, partitions and replication factor.
public struct KafkaNewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int

    public init(name: String, partitions: Int, replicationFactor: Int) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// What the cluster said about one topic of a `createTopics` call.
public enum KafkaTopicCreation: Sendable, Hashable {
    case created
    /// The topic was there before (TOPIC_ALREADY_EXISTS): creating is idempotent.
    case existed
}

extension KafkaProducer {
    /// Creates `topics` through the admin API (CreateTopics) and says, for each, whether it was
    /// created or already there. Any other refusal (too few brokers for the replication factor,
    /// an invalid name, no authorisation) throws, naming the topic. Needs a broker that implements
    /// CreateTopics (Apache Kafka, Tansu; librdkafka's mock cluster does not).
    public func createTopics(_ topics: [KafkaNewTopic], timeout: Duration = .seconds(30)) async throws -> [String: KafkaTopicCreation] {
        let client = self.client
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        return try await client.blocking {
            var errorText = [CChar](repeating: 0, count: 512)
            func text() -> String { errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }

            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for topic in topics {
                guard let newTopic = rd_kafka_NewTopic_new(
                    topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorText, errorText.count)
                else { throw KafkaError(.configuration, "topic \(topic.name): \(text())") }
                newTopics.append(newTopic)
            }
            guard let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
                throw KafkaError(.client, "cannot allocate admin options")
            }
            defer { rd_kafka_AdminOptions_destroy(options) }
            for set in [rd_kafka_AdminOptions_set_request_timeout, rd_kafka_AdminOptions_set_operation_timeout] {
                let result = set(options, milliseconds, &errorText, errorText.count)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.configuration, "admin options: \(text())") }
            }
            guard let queue = rd_kafka_queue_new(client.handle) else { throw KafkaError(.client, "cannot allocate a queue") }
            defer { rd_kafka_queue_destroy(queue) }

            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
            }
            // The request times out on its own after `milliseconds`; the extra second lets its
            // result (a time-out error) arrive rather than nothing.
            guard let event = rd_kafka_queue_poll(queue, milliseconds + 1_000) else {
                throw KafkaError(.timedOut, "CreateTopics: no answer within \(timeout)", isRetriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.client, "CreateTopics: \(String(cString: rd_kafka_event_error_string(event)))", responseError: eventError)
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else {
                throw KafkaError(.client, "CreateTopics: an unexpected event")
            }
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
            var outcomes: [String: KafkaTopicCreation] = [:]
            for index in 0..<count {
                guard let topicResult = results?[index] else { continue }
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let error = rd_kafka_topic_result_error(topicResult)
                switch error {
                case RD_KAFKA_RESP_ERR_NO_ERROR: outcomes[name] = .created
                case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcomes[name] = .existed
                default:
                    let message = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                    throw KafkaError(.client, "create topic \(name): \(message)", responseError: error)
                }
            }
            return outcomes
        }
    }
}
