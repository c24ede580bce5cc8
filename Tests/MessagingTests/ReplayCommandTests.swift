import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Testing

/// `emporium replay` as an operator runs it, against the test's own dead letters.
@Suite("emporium replay", .timeLimit(.minutes(2)), .usesRabbitMQ)
struct ReplayCommandTests {
    func emporium(_ arguments: String, harness: ConformanceHarness) async throws -> String {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/emporium").path
        let environment = "KAFKA_BOOTSTRAP_SERVERS='\(harness.fixture.kafkaBootstrap)' MESSAGING_WORK_EXCHANGE='\(ConformanceFixture.delays.workExchange)'"
        return try await ChildProcess.shell("\(environment) '\(binary)' replay \(arguments)")
    }

    @Test("list counts by type and error, show prints one, send replays the filtered ones with an audit line each", arguments: TransportKind.allCases)
    func listShowSend(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let broken = LockedBox(true)
            let handlers = harness.fixture.recordingHandler { event, _ in
                if broken.value && event.sequence < 3 { throw MessagingError.permanent("catalog copy missing") }
            }
            let source = kind == .kafka ? "--topic \(harness.fixture.topic).dlq" : "--queue \(harness.fixture.amqpSettings.deadLetterQueue)"
            let envelopes = try (0..<4).map { try harness.fixture.envelope($0, key: "order-\($0)") }
            try await harness.withConsumer(handlers) { () async throws in
                try await harness.publish(envelopes)
                #expect(try await eventually(timeout: .seconds(30)) { try await harness.deadLetters().count == 3 })

                let list = try await emporium("list \(source)", harness: harness)
                #expect(list.contains("3 dead letters"))
                #expect(list.contains("3        conformance.event"))
                #expect(list.contains("3        permanent"))

                let shown = try await emporium("show \(source) \(envelopes[1].idString)", harness: harness)
                #expect(shown.contains("message id:    \(envelopes[1].idString)"))
                #expect(shown.contains("error:         permanent: catalog copy missing"))
                #expect(shown.contains(#"{"sequence":1}"#))

                let dryRun = try await emporium("send \(source) --dry-run", harness: harness)
                #expect(dryRun.split(separator: "\n").count == 3)
                #expect(dryRun.contains(#""event":"replay.dry_run""#))

                broken.mutate { $0 = false }
                let sent = try await emporium("send \(source) --filter key=order-2 --filter type=conformance.event --rate 20", harness: harness)
                let audit = sent.split(separator: "\n")
                #expect(audit.count == 1)
                #expect(audit.first?.contains(#""message_id":"\#(envelopes[2].idString)""#) == true)
                #expect(audit.first?.contains(#""event":"replay.sent""#) == true)
                #expect(try await harness.waitForEffects(2))

                let rest = try await emporium("send \(source) --filter error=catalog --limit 10", harness: harness)
                #expect(rest.split(separator: "\n").count == (kind == .kafka ? 3 : 2))
                #expect(try await harness.waitForEffects(4))
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 4 && effects.distinct == 4)
        }
    }

    @Test("a filter of the wrong form and a missing source are refused with a clear message")
    func badArguments() async throws {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/emporium").path
        await #expect(throws: ChildProcessFailure.self) { _ = try await ChildProcess.shell("'\(binary)' replay send --topic x --filter colour=red 2>/dev/null") }
        let message = try await ChildProcess.shell("'\(binary)' replay list 2>&1 || true")
        #expect(message.contains("give exactly one of --topic and --queue"))
    }
}
