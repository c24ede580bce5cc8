import Contracts
import EmporiumTestSupport
import Foundation
import Kafka
import Testing

/// `emporium topics create|check` against a broker that implements CreateTopics (Tansu, in the
/// interop run: librdkafka's mock cluster does not). Runs after the fleet created the topics with
/// the same command, so this proves the second run changes nothing and `check` finds them all.
@Suite("Kafka topics from the one list", .enabled(if: InteropKafka.isOn, "needs a broker with CreateTopics: the interop run"))
struct TopicsCommandTests {
    @Test("a second `topics create` finds every topic there, and `topics check` passes")
    func createIsIdempotentAndCheckPasses() async throws {
        _ = try await PipelineFleet.shared.get()
        let binary = PipelineFleet.binary
        let again = try await ChildProcess.shell("'\(binary)' topics create --replication-factor 1 --wait 30s 2>&1; echo \"exit=$?\"", timeout: .seconds(90))
        #expect(again.contains("exit=0"), "\(again)")
        for topic in Destinations.kafkaTopics.flatMap(\.created) {
            #expect(again.contains("topics: \(topic.name): already there"), "\(topic.name): \(again)")
        }
        let check = try await ChildProcess.shell("'\(binary)' topics check --wait 10s 2>&1; echo \"exit=$?\"", timeout: .seconds(60))
        #expect(check.contains("exit=0") && check.contains("all 6 topics present"), "\(check)")
    }
}

/// `emporium topics check` against librdkafka's mock cluster (metadata is all it needs).
@Suite("Kafka topics check")
struct TopicsCheckTests {
    @Test("`topics check` fails within its wait, naming a missing topic and one with too few partitions")
    func checkNamesWhatIsMissing() async throws {
        let cluster = try KafkaMockCluster.make(brokers: 1, logger: PipelineFleet.logger)
        for topic in Destinations.kafkaTopics.flatMap(\.created) where topic.name != "user.dlq" {
            try cluster.createTopic(topic.name, partitions: topic.name == "order" ? 8 : topic.partitions)
        }
        let output = try await ChildProcess.shell(
            "KAFKA_BOOTSTRAP_SERVERS='\(cluster.bootstrapServers)' '\(PipelineFleet.binary)' topics check --wait 3s 2>&1; echo \"exit=$?\"",
            timeout: .seconds(60))
        #expect(!output.contains("exit=0"), "\(output)")
        #expect(output.contains("topics missing after 3s"), "\(output)")
        #expect(output.contains("user.dlq does not exist") && output.contains("order has 8 of 16 partitions"), "\(output)")
        #expect(!output.contains("product does not exist"), "\(output)")
        withExtendedLifetime(cluster) {}
    }

    @Test("`topics check` passes once every topic is there with its partitions")
    func checkPassesOnTheFullList() async throws {
        let cluster = try KafkaMockCluster.make(brokers: 1, logger: PipelineFleet.logger)
        for topic in Destinations.kafkaTopics.flatMap(\.created) { try cluster.createTopic(topic.name, partitions: topic.partitions) }
        let output = try await ChildProcess.shell(
            "KAFKA_BOOTSTRAP_SERVERS='\(cluster.bootstrapServers)' '\(PipelineFleet.binary)' topics check --wait 30s 2>&1; echo \"exit=$?\"",
            timeout: .seconds(60))
        #expect(output.contains("exit=0") && output.contains("all 6 topics present"), "\(output)")
        withExtendedLifetime(cluster) {}
    }
}
