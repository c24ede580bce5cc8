import Contracts
import EmporiumTestSupport
import Foundation
import Kafka
import Testing

/// A worker's `/health/ready` answers for what it depends on: a product worker on a Kafka cluster
/// of the test's own is ready once it has joined its group, and answers 503 naming its consumer
/// while every broker is down, and 200 again when they are back.
@Suite("Readiness", .usesRabbitMQ, .timeLimit(.minutes(10)))
struct ReadinessTests {
    @Test("a worker whose brokers are gone is not ready, and is again once they are back")
    func workerReadinessFollowsItsBrokers() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let cluster = try KafkaMockCluster.make(brokers: 1, logger: PipelineFleet.logger)
        for topic in Destinations.kafkaTopics.flatMap({ $0.scaled(down: 4).created }) { try cluster.createTopic(topic.name, partitions: topic.partitions) }
        let port = try freeLocalPort()
        let name = "worker-product-readiness"
        fleet.spawn(name, ["worker", "product"], extraEnvironment: [
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers, "METRICS_PORT": String(port),
            "MESSAGING_NAMESPACE": "\(fleet.id)-readiness",
        ])
        let client = APIClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!)
        func ready() async -> APIClient.Reply? { try? await client.send("GET", "/health/ready") }

        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(250)) { await ready()?.status == 200 }
        let first = await ready()
        #expect(up, "never ready: \(first?.text ?? "no answer"); logs in \(fleet.logDirectory.path)")
        let checks = first?.json["checks"] as? [String: String] ?? [:]
        #expect(Set(checks.keys) == ["postgres", "redis", "kafka consumer order"], "\(checks)")

        cluster.setAllBrokers(up: false)
        var down: APIClient.Reply?
        let noticed = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
            down = await ready()
            return down?.status == 503
        }
        #expect(noticed, "still \(down?.status ?? 0) with every broker down: \(down?.text ?? "")")
        let downChecks = down?.json["checks"] as? [String: String] ?? [:]
        #expect(downChecks["kafka consumer order"]?.hasPrefix("down") == true, "\(downChecks)")
        #expect(downChecks["postgres"] == "up", "\(downChecks)")

        cluster.setAllBrokers(up: true)
        // A fetch in flight when the mock broker went down is never answered: librdkafka gives up
        // on it after socket.timeout.ms (60 s) and only then reconnects and rejoins. CI saw exactly
        // that ("Timed out FetchRequest in flight (after 60745ms)"), so wait past it.
        let back = try await eventually(timeout: .seconds(150), every: .milliseconds(250)) { await ready()?.status == 200 }
        let last = await ready()
        #expect(back, "not ready after the brokers came back: \(last?.text ?? "")")
        try await fleet.stop(name)
        withExtendedLifetime(cluster) {}
    }
}
