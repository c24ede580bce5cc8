import DomainRuntime
import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import Messaging

/// `emporium topics list|create`: the project's Kafka topics, from the one list in `Contracts`
/// (`Domains.all.topics`). Brokers run with topic auto-creation off, so before any worker
/// starts, `create` makes every topic and dead-letter topic (compose's kafka-init and the
/// Kubernetes topics Job run it).
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List or create the project's Kafka topics and dead-letter topics.",
        subcommands: [List.self, Create.self, Check.self]
    )

    /// Every topic to create, dead-letter topics included.
    static var layout: [(name: String, partitions: Int)] { Domains.all.topics.flatMap(\.created) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Print every topic with its partitions (tab-separated: name, partitions, dead-letter topic, key).")

        func run() throws {
            for topic in Domains.all.topics {
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
            guard replicationFactor >= 1 else { throw ValidationError("--replication-factor: at least 1") }
            let (producer, patience, servers) = try TopicsCommand.connect(wait: wait)
            let wanted = Self.wanted(replicationFactor: replicationFactor)
            let deadline = ContinuousClock.now + patience
            var outcomes: [String: KafkaTopicCreation] = [:]
            while true {
                do {
                    outcomes = try await producer.createTopics(wanted, timeout: .seconds(15))
                    break
                } catch let error as KafkaError where TopicsCommand.isPassing(error) && ContinuousClock.now < deadline {
                    print("topics: brokers not ready (\(error.message)); trying again")
                    try await Task.sleep(for: .seconds(2))
                }
            }
            for topic in wanted {
                print("topics: \(topic.name): \(outcomes[topic.name].map { $0 == .created ? "created" : "already there" } ?? "not reported")")
            }
            // What the cluster has now, once every broker knows the new topics (metadata spreads
            // after CreateTopics returns): a topic that existed with fewer partitions is reported,
            // not changed (adding partitions moves keys to other partitions: an operator's call).
            try await TopicsCommand.waitUntilPresent(on: producer, until: deadline + .seconds(30), wait: wait)
            print("topics: \(wanted.count) topics ready on \(servers)")
        }

        static func wanted(replicationFactor: Int) -> [KafkaNewTopic] {
            TopicsCommand.layout.map { KafkaNewTopic(name: $0.name, partitions: $0.partitions, replicationFactor: replicationFactor) }
        }
    }

    /// `emporium topics check`: waits until every topic exists with its partitions (an init
    /// container of the roles that use Kafka, so that none starts before the topics Job is done).
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Wait until every topic exists with at least its partitions; exit 1 if not within --wait.")

        @Option(help: "How long to wait, e.g. 5m.")
        var wait = "5m"

        func run() async throws {
            let (producer, patience, _) = try TopicsCommand.connect(wait: wait)
            try await TopicsCommand.waitUntilPresent(on: producer, until: ContinuousClock.now + patience, wait: wait)
            print("topics: all \(TopicsCommand.layout.count) topics present")
        }
    }

    /// Polls the cluster's metadata until every topic is there with its partitions, or throws at
    /// `deadline` naming what is missing.
    static func waitUntilPresent(on producer: KafkaProducer, until deadline: ContinuousClock.Instant, wait: String) async throws {
        var missing: [String] = []
        repeat {
            do {
                missing = try await missingOrShort(on: producer)
            } catch let error as KafkaError {
                missing = ["no broker answered (\(error.message))"]
            }
            if missing.isEmpty { return }
            print("topics: waiting for \(missing.joined(separator: "; "))")
            try await Task.sleep(for: .seconds(2))
        } while ContinuousClock.now < deadline
        throw ValidationError("topics missing after \(wait): \(missing.joined(separator: "; "))")
    }

    /// Errors of a cluster that is still coming up: retried until the wait runs out.
    static func isPassing(_ error: KafkaError) -> Bool {
        // NOT_CONTROLLER (41) while a controller is elected; INVALID_REPLICATION_FACTOR (38) while
        // fewer brokers than the factor have registered.
        error.isRetriable || [41, 38].contains(error.nativeCode ?? 0)
    }

    /// A client for the brokers of KAFKA_BOOTSTRAP_SERVERS (after the secrets check every command
    /// that connects makes), how long to keep trying, and the brokers' addresses.
    static func connect(wait: String) throws -> (producer: KafkaProducer, patience: Duration, servers: String) {
        var logger = Logger(label: "emporium.topics")
        logger.logLevel = .error
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let messaging = try MessagingSettings(settings: environment)
        guard let patience = AMQPDelays.parseDuration(wait) else { throw ValidationError("--wait: expected a duration such as 2m, got \"\(wait)\"") }
        let producer = try KafkaProducer.make(
            configuration: KafkaProducerConfiguration(bootstrapServers: messaging.kafkaBootstrapServers), logger: logger)
        return (producer, patience, messaging.kafkaBootstrapServers.joined(separator: ","))
    }

    /// Each listed topic that the cluster lacks, or has with fewer partitions than listed.
    static func missingOrShort(on producer: KafkaProducer) async throws -> [String] {
        let existing = Dictionary(try await producer.topics(timeout: .seconds(10)).map { ($0.name, $0.partitions.count) }) { first, _ in first }
        return layout.compactMap { topic in
            guard let have = existing[topic.name] else { return "\(topic.name) does not exist" }
            return have < topic.partitions ? "\(topic.name) has \(have) of \(topic.partitions) partitions" : nil
        }
    }
}
