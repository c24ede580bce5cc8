import AMQP
import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Postgres
import Testing

extension TransportKind {
    /// The transports the suite runs against: both, or only Kafka in interop mode (the external
    /// broker changes nothing for AMQP).
    static var underTest: [TransportKind] { InteropKafka.isOn ? [.kafka] : allCases }
}

/// The messaging runtime's contract, run against both transports (Watermill's pub/sub test suite
/// is the model): every test gets its own topic or queue, consumer name and effects table.
@Suite("Messaging conformance", .timeLimit(.minutes(6)), .usesRabbitMQ)
struct ConformanceTests {
    @Test("every message is delivered and has its effect once", arguments: TransportKind.underTest)
    func atLeastOnce(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let envelopes = try (0..<300).map { try harness.fixture.envelope($0) }
            try await harness.withConsumer(harness.fixture.recordingHandler()) {
                try await harness.publish(envelopes)
                #expect(try await harness.waitForEffects(300))
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 300)
            #expect(effects.distinct == 300)
            #expect(try await harness.inboxCount() == 300)
        }
    }

    @Test("a message whose handler never finished is delivered again after a crash", arguments: TransportKind.underTest)
    func redeliveryAfterCrash(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let started = LockedBox(false)
            let stuck = harness.fixture.recordingHandler { _, _ in
                started.mutate { $0 = true }
                // Hangs until the consumer is torn down: the "crash" happens before any commit.
                try await Task.sleep(for: .seconds(600))
            }
            let envelope = try harness.fixture.envelope(1)
            try await harness.publish([envelope])
            // Torn down by cancellation, not graceful shutdown: nothing is acknowledged.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await harness.withConsumer(stuck) { try await Task.sleep(for: .seconds(600)) } }
                _ = try? await eventually(timeout: .seconds(30)) { started.value }
                group.cancelAll()
            }
            #expect(started.value)
            #expect(try await harness.effects().rows == 0)

            try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                #expect(try await harness.waitForEffects(1))
            }
            #expect(try await harness.effects().rows == 1)
        }
    }

    @Test("a duplicate delivery is acknowledged without a second effect", arguments: TransportKind.underTest)
    func duplicateHasNoSecondEffect(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let envelope = try harness.fixture.envelope(7)
            let other = try harness.fixture.envelope(8)
            try await harness.withConsumer(harness.fixture.recordingHandler()) {
                try await harness.publish([envelope, envelope, other, envelope])
                #expect(try await harness.waitForEffects(2))
                #expect(try await eventually(timeout: .seconds(20)) { harness.outcomes("duplicate") == 2 })
            }
            #expect(try await harness.effects().rows == 2)
            #expect(harness.outcomes("handled") == 2)
        }
    }

    @Test("a message that keeps failing is dead-lettered after the configured attempts, with every header", arguments: TransportKind.underTest)
    func deadLetterAfterAttempts(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let calls = LockedBox(0)
            let failing = harness.fixture.recordingHandler { event, _ in
                if event.sequence == 1 {
                    calls.mutate { $0 += 1 }
                    throw MessagingError.transient("the payment service is down")
                }
            }
            let retry = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(100), maximumDelay: .milliseconds(400))
            let started = Date()
            let poison = try harness.fixture.envelope(1)
            try await harness.withConsumer(failing, retry: retry) {
                try await harness.publish([poison, try harness.fixture.envelope(2)])
                #expect(try await harness.waitForEffects(1))
                #expect(try await eventually(timeout: .seconds(30)) { harness.outcomes("dead_lettered") == 1 })
            }
            #expect(calls.value == 3)
            #expect(harness.outcomes("retried") == 2)
            let letters = try await harness.deadLetters()
            let letter = try #require(letters.first)
            #expect(letters.count == 1)
            #expect(letter.messageID?.lowercased() == poison.idString)
            #expect(letter.type == ConformanceEvent.messageType)
            #expect(letter.errorType == "transient")
            #expect(letter.errorMessage == "the payment service is down")
            #expect(letter.attempts == "3")
            #expect(letter.consumer == harness.fixture.consumerName)
            #expect(letter.origin == (kind == .kafka ? harness.fixture.topic : harness.fixture.queue))
            let header = Dictionary(letter.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            if kind == .kafka {
                #expect(header[EnvelopeHeader.originPartition] != nil)
                #expect(header[EnvelopeHeader.originOffset] != nil)
            } else {
                #expect(header[EnvelopeHeader.originQueue] == harness.fixture.queue)
            }
            let first = try #require(header[EnvelopeHeader.firstFailureAt].flatMap { try? Date($0, strategy: .iso8601) })
            let last = try #require(header[EnvelopeHeader.lastFailureAt].flatMap { try? Date($0, strategy: .iso8601) })
            #expect(first >= started.addingTimeInterval(-1))
            #expect(last > first)
        }
    }

    @Test("a poison message and a permanent failure go to the dead letters at once", arguments: TransportKind.underTest)
    func poisonAndPermanent(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let handlers = harness.fixture.recordingHandler { event, _ in
                if event.sequence == 2 { throw MessagingError.permanent("order 2 does not exist") }
            }
            var undecodable = try harness.fixture.envelope(1)
            undecodable.body = Array(#"{"sequence": "not a number"}"#.utf8)
            var newer = try harness.fixture.envelope(3)
            newer.schemaVersion = 9
            try await harness.withConsumer(handlers) {
                try await harness.publish([undecodable, try harness.fixture.envelope(2), newer, try harness.fixture.envelope(4)])
                try await harness.publishWithoutType()
                #expect(try await harness.waitForEffects(1))
                #expect(try await eventually(timeout: .seconds(30)) { try await harness.deadLetters().count == 4 })
            }
            let letters = try await harness.deadLetters()
            let errors = Set(letters.map(\.errorType))
            #expect(errors == ["poison_message", "permanent", "unsupported_schema_version"])
            #expect(letters.allSatisfy { $0.attempts == "1" })
            #expect(harness.outcomes("retried") == 0)
            #expect(try await harness.effects().rows == 1)
        }
    }

    @Test("a replayed dead letter is handled once, and replaying it again changes nothing", arguments: TransportKind.underTest)
    func replayHandledOnce(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let broken = LockedBox(true)
            let handlers = harness.fixture.recordingHandler { event, _ in
                if broken.value && event.sequence < 3 { throw MessagingError.permanent("not yet") }
            }
            try await harness.withConsumer(handlers) {
                try await harness.publish(try (0..<5).map { try harness.fixture.envelope($0, key: "k\($0)") })
                #expect(try await harness.waitForEffects(2))
                #expect(try await eventually(timeout: .seconds(30)) { try await harness.deadLetters().count == 3 })
                broken.mutate { $0 = false }

                // A dry run and a filter first: nothing moves.
                let (dry, wouldSend) = try await harness.replay(ReplayOptions(dryRun: true))
                #expect(dry.replayed == 3 && wouldSend.count == 3)
                let (filtered, sentFiltered) = try await harness.replay(ReplayOptions(filter: DeadLetterFilter(key: "k1")))
                #expect(filtered.replayed == 1 && sentFiltered.map(\.key) == ["k1"])
                #expect(try await harness.waitForEffects(3))

                let (rest, _) = try await harness.replay(ReplayOptions(filter: DeadLetterFilter(error: "not yet"), limit: 5, rate: 50))
                #expect(rest.replayed == (kind == .kafka ? 3 : 2))
                #expect(try await harness.waitForEffects(5))
                if kind == .kafka {
                    // The topic is a log: replaying everything again reaches the inbox, which drops it.
                    _ = try await harness.replay()
                    #expect(try await eventually(timeout: .seconds(20)) { harness.outcomes("duplicate") >= 4 })
                }
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 5 && effects.distinct == 5)
        }
    }

    @Test(
        "a delayed message arrives no earlier than its delay less 10% + 1 s, and within 10% + 8 s after it",
        .disabled(if: InteropKafka.isOn, "AMQP only: interop mode runs the Kafka cases"),
        arguments: [TransportKind.amqp], [Duration.seconds(3), .milliseconds(1500), .seconds(7)])
    func delayedDelivery(kind: TransportKind, delay: Duration) async throws {
        try await withHarness(kind) { harness in
            // Delay queues of the test's own (same levels): the shared ones also carry the other
            // suites' retries, and under the whole parallel suite a two-hop delay through them was
            // seen 1.5 s late. What is measured is the delay mechanism.
            let delays = try AMQPDelays(
                levels: ConformanceFixture.delays.levels, workExchange: ConformanceFixture.delays.workExchange,
                prefix: "emporium.test.delay.\(harness.fixture.id)")
            let arrived = LockedBox<ContinuousClock.Instant?>(nil)
            let handlers = harness.fixture.recordingHandler { event, _ in
                if event.sequence == 1 { arrived.mutate { $0 = ContinuousClock.now } }
            }
            try await harness.withConsumer(handlers, delays: delays) {
                func delayed(_ sequence: Int) throws -> AMQPOutgoingMessage {
                    delays.schedule(
                        try harness.fixture.envelope(sequence).amqpMessage(exchange: delays.workExchange, routingKey: harness.fixture.queue),
                        after: delay)
                }
                try await harness.publisher!.declare(delays.topology)
                // A first message over the same hops, unmeasured: the consumer connects, and the
                // delay queues the broker has just declared start dead-lettering (the first
                // message through a new quorum queue was seen 2 s late).
                try await harness.publisher!.publish(try delayed(0))
                #expect(try await harness.waitForEffects(1, timeout: delay * 2 + .seconds(10)))
                let message = try delayed(1)
                let sent = ContinuousClock.now
                try await harness.publisher!.publish(message)
                #expect(try await harness.waitForEffects(2, timeout: delay * 2 + .seconds(10)))
                let elapsed = try #require(arrived.value) - sent
                // Never early (the TTL decides); late only by what a loaded two-core machine adds.
                // Beside the messaging and Postgres suites it came 0.01-0.4 s late; with every
                // suite in parallel (the fleet's nine processes on the same broker) five fresh-clone
                // runs on 6 Dec 2026 saw 0.5-3.2 s for 7 s, 0.5-5.0 s for 3 s and 0.1-1.9 s for
                // 1.5 s, and 5.0 s failed the 3 s bound this had. The failure this guards against
                // is minutes late (dead letters parked until a publisher-confirm time-out,
                // DelayRecoveryTests), which 8 s still tells apart.
                let early = delay / 10 + .seconds(1)
                let late = delay / 10 + .seconds(8)
                print("delay \(delay): arrived after \(elapsed)")
                #expect(elapsed >= delay - early && elapsed <= delay + late, "arrived after \(elapsed), delay \(delay)")
            }
            for queue in delays.queueNames { try? await harness.publisher!.deleteQueue(queue) }
        }
    }

    @Test("graceful shutdown lets the handlers in flight finish and acknowledges them", arguments: TransportKind.underTest)
    func gracefulShutdownFinishesInFlight(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            let running = LockedBox(0)
            let slow = harness.fixture.recordingHandler(delay: .seconds(1)) { _, _ in running.mutate { $0 += 1 } }
            try await harness.publish(try (0..<4).map { try harness.fixture.envelope($0, key: "k\($0)") })
            try await harness.withConsumer(slow) { () async throws in
                #expect(try await eventually(timeout: .seconds(30)) { running.value >= 1 })
            }
            // Shut down while handlers ran: each one that started finished and committed.
            let applied = try await harness.effects().rows
            #expect(applied >= 1)
            #expect(applied == running.value)

            try await harness.withConsumer(harness.fixture.recordingHandler()) {
                #expect(try await harness.waitForEffects(4))
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(try await harness.effects().rows == 4)
            // What finished before the shutdown was acknowledged: the restart saw none of it again.
            #expect(harness.outcomes("duplicate") == 0)
        }
    }

    @Test("a worker killed with SIGKILL mid-batch of 1,000 loses none and applies none twice", arguments: TransportKind.underTest)
    func sigkillMidBatch(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            try await harness.publish(try (0..<1000).map { try harness.fixture.envelope($0, key: "k\($0 % 50)") })
            let first = try harness.startWorker(handlerDelay: .milliseconds(50))
            #expect(try await eventually(timeout: .seconds(90), every: .milliseconds(20)) { try await harness.effects().distinct >= 200 })
            let atKill = try await harness.effects()
            first.signal(SIGKILL)
            try await first.wait()
            let beforeRestart = try await harness.effects()
            print("sigkill \(kind): \(atKill.distinct) applied when killed, \(beforeRestart.distinct) after")
            #expect(beforeRestart.distinct < 1000, "the kill came after the batch was done")

            let second = try harness.startWorker(handlerDelay: .zero)
            let done = try await harness.waitForEffects(1000, timeout: .seconds(120))
            second.signal(SIGTERM)
            try await second.wait()
            #expect(done)
            let effects = try await harness.effects()
            #expect(effects.distinct == 1000)
            #expect(effects.rows == 1000)
        }
    }
}
