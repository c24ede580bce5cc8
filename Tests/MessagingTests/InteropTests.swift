import AMQP
import EmporiumTestSupport
import Foundation
import Kafka
import Messaging
import MessagingConformance
import Testing

/// The envelope as the stock tools see it: `kcat` and `rabbitmqadmin` read our messages, and a
/// message they write with the documented headers is accepted.
@Suite("Interoperability with kcat and rabbitmqadmin", .timeLimit(.minutes(5)), .usesRabbitMQ)
struct InteropTests {
    /// The stock tools start slowly on a busy machine (rabbitmqctl, which boots an Erlang VM, took
    /// over a minute with the whole suite running): the bound is for a hang.
    func shell(_ command: String) async throws -> String {
        try await ChildProcess.shell(command, timeout: .seconds(180))
    }

    var rabbitmqadmin: String {
        let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672"
        let components = URLComponents(string: url)
        return "rabbitmqadmin -H \(components?.host ?? "127.0.0.1") -u \(components?.user ?? "emporium") -p \(components?.password ?? "emporium")"
    }

    @Test("kcat writes a message with the documented headers; the consumer handles it")
    func kcatWrites() async throws {
        try await withHarness(.kafka) { harness in
            let id = UUID().uuidString.lowercased()
            try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                _ = try await shell("""
                    printf '%s' '{"sequence": 41}' | kcat -P -b '\(harness.fixture.kafkaBootstrap)' -t '\(harness.fixture.topic)' \
                    -k order-41 -H message-id=\(id) -H message-type=\(ConformanceEvent.messageType) -H schema-version=1 \
                    -H occurred-at=2026-11-22T10:00:00Z -H correlation-id=kcat-test
                    """)
                #expect(try await harness.waitForEffects(1))
            }
            let row = try await harness.database.query("SELECT message_id::text AS id, message_key, sequence FROM \(unescaped: harness.fixture.effectsTable)").single()
            #expect(try row.decode("id", as: String.self) == id)
            #expect(try row.decode("message_key", as: String.self) == "order-41")
            #expect(try row.decode("sequence", as: Int.self) == 41)
        }
    }

    @Test("kcat reads our message: key, JSON value and the envelope headers")
    func kcatReads() async throws {
        try await withHarness(.kafka) { harness in
            let envelope = try harness.fixture.envelope(5, key: "order-5")
            try await harness.publish([envelope])
            let output = try await shell("""
                kcat -C -b '\(harness.fixture.kafkaBootstrap)' -t '\(harness.fixture.topic)' -o beginning -c 1 -e -q -f '%k\\n%h\\n%s\\n'
                """)
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines.first == "order-5")
            #expect(lines.dropFirst().first?.contains("message-id=\(envelope.idString)") == true)
            #expect(lines.dropFirst().first?.contains("message-type=\(ConformanceEvent.messageType)") == true)
            #expect(lines.last == #"{"sequence":5}"#)
        }
    }

    @Test("rabbitmqadmin publishes with message_id and type properties; the consumer handles it")
    func rabbitmqadminWrites() async throws {
        try await withHarness(.amqp) { harness in
            let id = UUID().uuidString.lowercased()
            try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                // The queue and its binding exist once the publisher's connection declared them.
                _ = try await harness.publisher!.messageCount(queue: harness.fixture.queue)
                _ = try await shell("""
                    \(rabbitmqadmin) publish exchange=\(ConformanceFixture.delays.workExchange) routing_key=\(harness.fixture.queue) \
                    payload='{"sequence": 9}' \
                    properties='{"message_id": "\(id)", "type": "\(ConformanceEvent.messageType)", "content_type": "application/json", "headers": {"schema-version": 1, "message-key": "order-9"}}'
                    """)
                #expect(try await harness.waitForEffects(1))
            }
            let row = try await harness.database.query("SELECT message_id::text AS id, message_key FROM \(unescaped: harness.fixture.effectsTable)").single()
            #expect(try row.decode("id", as: String.self) == id)
            #expect(try row.decode("message_key", as: String.self) == "order-9")
        }
    }

    @Test("rabbitmqadmin reads our message: properties, headers and the JSON body")
    func rabbitmqadminReads() async throws {
        try await withHarness(.amqp) { harness in
            let envelope = try harness.fixture.envelope(6, key: "order-6")
            try await harness.publish([envelope])
            #expect(try await eventually { try await harness.publisher!.messageCount(queue: harness.fixture.queue) == 1 })
            let output = try await shell("\(rabbitmqadmin) --format=raw_json get queue=\(harness.fixture.queue) ackmode=ack_requeue_false count=1")
            let messages = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
            let message = try #require(messages?.first)
            let properties = try #require(message["properties"] as? [String: Any])
            #expect(message["payload"] as? String == #"{"sequence":6}"#)
            #expect(properties["message_id"] as? String == envelope.idString)
            #expect(properties["type"] as? String == ConformanceEvent.messageType)
            #expect(properties["correlation_id"] as? String == envelope.correlationID)
            let headers = try #require(properties["headers"] as? [String: Any])
            #expect(headers["message-key"] as? String == "order-6")
            #expect(headers["schema-version"] as? Int == 1)
        }
    }

    /// Dead-letters two of four messages, runs `replay` (a stock-tools recipe from deploy/tools),
    /// and expects every message handled once.
    func replayWithStockTools(_ kind: TransportKind, _ replay: (ConformanceHarness) async throws -> Void) async throws {
        try await withHarness(kind) { harness in
            let broken = LockedBox(true)
            let handlers = harness.fixture.recordingHandler { event, _ in
                if broken.value && event.sequence < 2 { throw MessagingError.permanent("not yet") }
            }
            try await harness.withConsumer(handlers) { () async throws in
                try await harness.publish(try (0..<4).map { try harness.fixture.envelope($0) })
                #expect(try await eventually(timeout: .seconds(30)) { try await harness.deadLetters().count == 2 })
                broken.mutate { $0 = false }
                try await replay(harness)
                #expect(try await harness.waitForEffects(4))
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 4 && effects.distinct == 4)
        }
    }

    @Test("docs/messaging.md's kcat recipe replays a dead-letter topic, envelope headers kept")
    func kcatReplay() async throws {
        try await replayWithStockTools(.kafka) { harness in
            let script = TestDatabase.repositoryRoot.appendingPathComponent("deploy/tools/replay-with-kcat.sh").path
            _ = try await shell("KAFKA_BOOTSTRAP_SERVERS='\(harness.fixture.kafkaBootstrap)' bash '\(script)' '\(harness.fixture.topic).dlq' '\(harness.fixture.topic)'")
        }
    }

    @Test("docs/messaging.md's shovel recipe replays a dead-letter queue; the messages start over")
    func shovelReplay() async throws {
        try await replayWithStockTools(.amqp) { harness in
            let script = TestDatabase.repositoryRoot.appendingPathComponent("deploy/tools/replay-with-shovel.sh").path
            _ = try await shell("MESSAGING_WORK_EXCHANGE='\(ConformanceFixture.delays.workExchange)' bash '\(script)' '\(harness.fixture.amqpSettings.deadLetterQueue)' '\(harness.fixture.queue)'")
        }
    }
}
