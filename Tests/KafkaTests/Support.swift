import EmporiumTestSupport
import Foundation
import Kafka
import Logging

enum TestKafka {
    static let logger: Logger = {
        var logger = Logger(label: "emporium.tests.kafka")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh in-process mock cluster (3 brokers) with one topic of the test's own.
    static func cluster(partitions: Int = 4) throws -> (KafkaMockCluster, String) {
        let cluster = try KafkaMockCluster.make(brokers: 3, logger: logger)
        let topic = "test-\(UUID().uuidString)"
        try cluster.createTopic(topic, partitions: partitions)
        return (cluster, topic)
    }

    static func producer(_ cluster: KafkaMockCluster, configure: (inout KafkaProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [cluster.bootstrapServers])
        configure(&configuration)
        return try KafkaProducer.make(configuration: configuration, logger: logger)
    }

    static func consumer(_ cluster: KafkaMockCluster, topic: String, group: String, configure: (inout KafkaConsumerConfiguration) -> Void = { _ in }) async throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [cluster.bootstrapServers], groupID: group)
        configuration.sessionTimeout = .seconds(6)
        configure(&configuration)
        return try await KafkaConsumer.make(configuration: configuration, topics: [topic], logger: logger)
    }
}
