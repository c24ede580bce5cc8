import Contracts
import EmporiumTestSupport
import Foundation
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

    @Test("`topics check` fails, naming the topic, when one is missing")
    func checkNamesAMissingTopic() async throws {
        // A broker address with nothing behind it: every topic is missing, and the wait runs out.
        let port = try freeLocalPort()
        let output = try await ChildProcess.shell(
            "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:\(port) '\(PipelineFleet.binary)' topics check --wait 3s 2>&1; echo \"exit=$?\"", timeout: .seconds(60))
        #expect(!output.contains("exit=0") && output.contains("topics missing after 3s"), "\(output)")
    }
}
