import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Observability
import Testing

@Suite("Metrics endpoint", .timeLimit(.minutes(1)), .usesRabbitMQ)
struct MetricsEndpointTests {
    @Test("/metrics shows handled messages, handler durations and the outbox backlog; the health checks answer")
    func exposition() async throws {
        let port = try freeLocalPort()
        let server = ObservabilityServer(host: "127.0.0.1", port: port, logger: ConformanceFixture.logger)
        try await withHarness(.kafka) { harness in
            // The default metrics factory: the Prometheus registry the server bootstrapped.
            let processor = harness.fixture.processor(handlers: harness.fixture.recordingHandler(), database: harness.database, redis: harness.redis)
            let relay = OutboxRelay(
                settings: OutboxRelaySettings(), database: harness.database, listener: nil, kafka: harness.producer, amqp: nil,
                delays: nil, logger: ConformanceFixture.logger)
            try await withRunning([server]) { () async throws in
                try await withRunning(try harness.fixture.consumerServices(processor: processor, producer: harness.producer)) { () async throws in
                    try await harness.publish([try harness.fixture.envelope(1)])
                    #expect(try await harness.waitForEffects(1))
                }
                _ = try await relay.backlog()
                let body = try await ChildProcess.shell("curl -sf http://127.0.0.1:\(port)/metrics")
                let labels = #"consumer="\#(harness.fixture.consumerName)",type="conformance.event",outcome="handled""#
                #expect(body.contains("messaging_messages_total{\(labels)} 1"), "\(body.prefix(2000))")
                // The failure series exist from the start, at zero, so the first dead letter is an increase.
                for outcome in ["failed", "retried", "dead_lettered"] {
                    for type in ["conformance.event", "unknown"] {
                        let zero = #"consumer="\#(harness.fixture.consumerName)",type="\#(type)",outcome="\#(outcome)""#
                        #expect(body.contains("messaging_messages_total{\(zero)} 0"), "no zero series for \(type) \(outcome)")
                    }
                }
                #expect(body.contains("messaging_handler_duration_seconds_count{consumer=\"\(harness.fixture.consumerName)\",type=\"conformance.event\"} 1"))
                #expect(body.contains("# TYPE messaging_handler_duration_seconds histogram"))
                #expect(body.contains("messaging_outbox_backlog "))
                #expect(body.contains("messaging_outbox_oldest_unsent_seconds "))
                _ = try await ChildProcess.shell("curl -sf http://127.0.0.1:\(port)/health/live")
                _ = try await ChildProcess.shell("curl -sf http://127.0.0.1:\(port)/health/ready")
            }
        }
    }

    @Test("emporium relay serves its outbox gauges at /metrics and stops cleanly on SIGTERM")
    func relayProcess() async throws {
        let port = try freeLocalPort()
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/emporium").path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-relay-\(port).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let relay = try ChildProcess(["/bin/sh", "-c", "exec '\(binary)' relay > '\(log.path)' 2>&1"], environment: [
            "METRICS_PORT": String(port), "EMPORIUM_MIGRATIONS_DIR": TestDatabase.repositoryRoot.appendingPathComponent("migrations").path,
        ])
        let served = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            let body = try? await ChildProcess.shell("curl -sf http://127.0.0.1:\(port)/metrics")
            return body?.contains("messaging_outbox_backlog ") == true && body?.contains("messaging_outbox_parked ") == true
        }
        relay.signal(SIGTERM)
        let status = try await relay.wait(timeout: .seconds(30))
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(served, "\(output.suffix(2000))")
        #expect(status == 0, "\(output.suffix(2000))")
    }
}
