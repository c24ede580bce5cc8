import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import Messaging

/// `emporium topics list|create`: the project's Kafka topics, from the one list in `Contracts`
/// (`Destinations.kafkaTopics`). Brokers run with topic auto-creation off, so before any worker
/// starts, `create` makes every topic and dead-letter topic (compose's kafka-init and the
/// Kubernetes topics Job run it).
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List or create the project's Kafka topics and dead-letter topics.",
        subcommands: [List.self, Create.self]
    )

    /// Every topic to create, dead-letter topics included.
    static var layout: [(name: String, partitions: Int)] { Destinations.kafkaTopics.flatMap(\.created) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Print every topic with its partitions (tab-separated: name, partitions, dead-letter topic, key).")

        func run() throws {
            for topic in Destinations.kafkaTopics {
                print([topic.name, String(topic.partitions), topic.deadLetterName, topic.key].joined(separator: "\t"))
                print([topic.deadLetterName, String(topic.deadLetterPartitions), "-", "as " + topic.name].joined(separator: "\t"))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create every topic that is missing (idempotent), on the brokers of KAFKA_BOOTSTRAP_SERVERS.")

        @Option(help: "Replicas of each partition (3 on a production cluster; at most the number of brokers).")
        var replicationFactor = 3

        @Option(help: "How long to keep trying while the brokers come up, e.g. 2m.")
        var wait = "2m"

        func run() async throws {
            var logger = Logger(label: "emporium.topics")
            logger.logLevel = .error
            let environment = Environment()
            try environment.refusePlaceholderSecrets()
            let messaging = try MessagingSettings(environment: environment)
            guard let patience = AMQPDelays.parseDuration(wait) else { throw ValidationError("--wait: expected a duration such as 2m, got \"\(wait)\"") }
            guard replicationFactor >= 1 else { throw ValidationError("--replication-factor: at least 1") }
            let producer = try KafkaProducer.make(
                configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)
            let wanted = Self.wanted(replicationFactor: replicationFactor)
            let deadline = ContinuousClock.now + patience
            var outcomes: [String: KafkaTopicCreation] = [:]
            while true {
                do {
                    outcomes = try await producer.createTopics(wanted, timeout: .seconds(15))
                    break
                } catch let error as KafkaError where error.isRetriable && ContinuousClock.now < deadline {
                    print("topics: brokers not ready (\(error.message)); trying again")
                    try await Task.sleep(for: .seconds(2))
                }
            }
            // What the cluster has now: a topic that existed with fewer partitions is reported,
            // not changed (adding partitions moves keys to other partitions: an operator's call).
            let existing = Dictionary(try await producer.topics(timeout: .seconds(15)).map { ($0.name, $0.partitions.count) }) { first, _ in first }
            var short: [String] = []
            for topic in wanted {
                let have = existing[topic.name]
                let outcome = outcomes[topic.name].map { $0 == .created ? "created" : "already there" } ?? "not reported"
                print("topics: \(topic.name): \(outcome), \(have.map(String.init) ?? "?") of \(topic.partitions) partitions")
                if (have ?? 0) < topic.partitions { short.append(topic.name) }
            }
            guard short.isEmpty else {
                throw ValidationError("these topics have fewer partitions than the list says: \(short.joined(separator: ", "))")
            }
            print("topics: \(wanted.count) topics ready on \(messaging.kafkaBootstrapServers.joined(separator: ","))")
        }

        static func wanted(replicationFactor: Int) -> [KafkaNewTopic] {
            TopicsCommand.layout.map { KafkaNewTopic(name: $0.name, partitions: $0.partitions, replicationFactor: replicationFactor) }
        }
    }
}
