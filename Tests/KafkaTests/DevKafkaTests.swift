import EmporiumTestSupport
import Foundation
import Kafka
import Testing

/// The development Kafka that `deploy/local/services.sh` starts (`emporium dev kafka`).
@Suite(
    "Development Kafka",
    .enabled(if: !(ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "").isEmpty, "needs the local services"),
    .timeLimit(.minutes(1)))
struct DevKafkaTests {
    let bootstrap = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? ""

    @Test("the project's topics exist with their partitions, and a message round-trips through one")
    func projectTopics() async throws {
        let producer = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: [bootstrap]), logger: TestKafka.logger)
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap], groupID: "g-\(UUID())")
        configuration.sessionTimeout = .seconds(6)
        configuration.autoOffsetReset = "latest"
        let consumer = try await KafkaConsumer.make(configuration: configuration, topics: ["order"], logger: TestKafka.logger)
        try await withRunning([producer, consumer]) {
            let topics = Dictionary(uniqueKeysWithValues: try await producer.topics().map { ($0.name, $0.partitions.count) })
            #expect(topics["product"] == 16)
            #expect(topics["product.dlq"] == 4)
            #expect(topics["user"] == 8)
            #expect(topics["user.dlq"] == 2)
            #expect(topics["order"] == 16)
            #expect(topics["order.dlq"] == 4)

            // "latest": wait until the group owns partitions before sending, by sending until one arrives.
            let marker = UUID().uuidString
            let sender = Task {
                for _ in 0..<100 {
                    try await producer.send(KafkaOutgoingMessage(topic: "order", key: marker, value: marker))
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { sender.cancel() }
            for try await message in consumer.messages where message.keyString == marker {
                #expect(message.valueString == marker)
                break
            }
        }
    }
}
