import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `emporium dev kafka`: hosts librdkafka's mock cluster (no Kafka broker can be installed on the
/// development machines), creates the project's topics (`Domains.all.topics`, as
/// `emporium topics list` prints them) through the mock API, and writes the bootstrap addresses
/// (random ports) to a file that the services script, the tests and the fleet read. Runs until
/// SIGTERM or SIGINT.
struct DevKafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Run a development Kafka (librdkafka's mock cluster) with the project's topics."
    )

    @Option(help: "Number of brokers.")
    var brokers = 3

    @Option(help: "File to write the bootstrap addresses to.")
    var bootstrapFile = ".local/kafka/bootstrap"

    @Option(help: "Topics as name:partitions, comma-separated (default: the project's topics).")
    var topics: String?

    func run() async throws {
        var logger = Logger(label: "emporium.dev.kafka")
        logger.logLevel = .warning
        let cluster = try KafkaMockCluster.make(brokers: brokers, logger: logger)
        let layout = try topics.map(Self.parse) ?? TopicsCommand.layout
        for topic in layout {
            try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: brokers)
        }
        let url = URL(fileURLWithPath: bootstrapFile)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (cluster.bootstrapServers + "\n").write(to: url, atomically: true, encoding: .utf8)
        print("dev kafka: \(brokers) brokers at \(cluster.bootstrapServers); topics \(layout.map { "\($0.name):\($0.partitions)" }.joined(separator: ", ")); bootstrap in \(bootstrapFile)")

        let group = ServiceGroup(configuration: .init(
            services: [WaitForShutdown()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? FileManager.default.removeItem(at: url)
        withExtendedLifetime(cluster) {}
    }

    static func parse(_ text: String) throws -> [(name: String, partitions: Int)] {
        try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let partitions = Int(parts[1]), partitions > 0 else {
                throw ValidationError("--topics: expected name:partitions, got \"\(entry)\"")
            }
            return (name: String(parts[0]), partitions: partitions)
        }
    }
}

/// A service that only waits for the signal to stop.
struct WaitForShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
