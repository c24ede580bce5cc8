import AMQP
import EmporiumTestSupport
import Foundation
@testable import Messaging
import MessagingConformance
import MetricsTestKit
@testable import Postgres
import Redis
import Testing

@Suite("Consumer behaviour", .timeLimit(.minutes(2)), .usesRabbitMQ)
struct ConsumerBehaviourTests {
    @Test("Kafka: a retried message keeps its key in order and does not hold up other keys of its partition")
    func retryKeepsKeyOrder() async throws {
        try await withHarness(.kafka, partitions: 1) { harness in
            // The first "slow" message fails until every other key was handled: not for a fixed
            // number of attempts, which a loaded machine could outlast. Were the other keys held
            // up behind it, it would use up its attempts and be dead-lettered.
            let handlers = harness.fixture.recordingHandler { event, context in
                // Committed effects: only the other keys' can be there before this one's.
                let othersDone = event.sequence == 0 && context.attempt > 1 ? try await harness.effects().rows >= 5 : false
                if event.sequence == 0 && !othersDone {
                    throw MessagingError.transient("try again")
                }
            }
            var envelopes: [MessageEnvelope] = []
            for index in 0..<5 {
                envelopes.append(try harness.fixture.envelope(index, key: "slow"))
                envelopes.append(try harness.fixture.envelope(100 + index, key: "fast-\(index)"))
            }
            let retry = RetryPolicy(maximumAttempts: 60, initialDelay: .milliseconds(200), maximumDelay: .seconds(1), jitter: 0)
            try await harness.withConsumer(handlers, retry: retry) { () async throws in
                try await harness.publish(envelopes)
                #expect(try await harness.waitForEffects(10, timeout: .seconds(60)))
            }
            let rows = try await harness.database.query("SELECT message_key, sequence FROM \(unescaped: harness.fixture.effectsTable) ORDER BY position")
            let order = try rows.map { (try $0.decode("message_key", as: String.self), try $0.decode("sequence", as: Int.self)) }
            #expect(order.filter { $0.0 == "slow" }.map(\.1) == [0, 1, 2, 3, 4])
            // Every other key finished while the first message of "slow" waited for its retries.
            let firstSlow = try #require(order.firstIndex { $0.0 == "slow" })
            #expect(order[..<firstSlow].count == 5)
        }
    }

    @Test("two replicas given the same message at once: the Redis guard lets one work it, the inbox keeps the effect single")
    func guardAgainstConcurrentReplicas() async throws {
        try await withHarness(.kafka) { harness in
            let inHandler = LockedBox(0)
            let maximum = LockedBox(0)
            let released = LockedBox(false)
            let handlers = harness.fixture.recordingHandler { _, _ in
                let now = inHandler.mutate { $0 += 1; return $0 }
                maximum.mutate { $0 = max($0, now) }
                // Works until the twin has been turned away (not for a fixed time, which a loaded
                // machine can overrun), at most a minute.
                _ = try await eventually(timeout: .seconds(60)) { released.value }
                inHandler.mutate { $0 -= 1 }
            }
            let envelope = try harness.fixture.envelope(1)
            let processor = harness.processor(handlers)
            // The same delivery reaching two replicas, as after a rebalance or a requeue: the
            // second arrives while the first is in its handler.
            let first = Task { await processor.process(envelope, attempt: 1) }
            #expect(try await eventually(timeout: .seconds(30)) { inHandler.value == 1 })
            let second = await processor.process(envelope, attempt: 1)
            released.mutate { $0 = true }
            let outcomes = [await first.value, second]
            #expect(maximum.value == 1)
            #expect(second == .busy && outcomes.contains(.handled), "\(outcomes)")
            // Later, the one that was turned away tries again and finds it done.
            #expect(await processor.process(envelope, attempt: 1) == .duplicate)
            #expect(try await harness.effects().rows == 1)
        }
    }

    @Test("without the Redis guard the inbox alone still keeps a concurrent duplicate from a second effect")
    func inboxWithoutGuard() async throws {
        try await withHarness(.kafka) { harness in
            let handlers = harness.fixture.recordingHandler(delay: .milliseconds(200))
            let processor = MessageProcessor(
                settings: MessageConsumerSettings(name: harness.fixture.consumerName, guardTimeToLive: nil),
                handlers: handlers, database: harness.database, redis: nil, logger: ConformanceFixture.logger)
            let envelope = try harness.fixture.envelope(1)
            async let first = processor.process(envelope, attempt: 1)
            async let second = processor.process(envelope, attempt: 1)
            let outcomes = await [first, second]
            #expect(outcomes.sorted { "\($0)" < "\($1)" } == [.duplicate, .handled])
            #expect(try await harness.effects().rows == 1)
        }
    }

    @Test("the inbox row riding with the handler's first statement: a duplicate is found, and what its handler did is rolled back")
    func inboxRidesWithHandler() async throws {
        try await withHarness(.kafka) { harness in
            let table = harness.fixture.effectsTable
            var handlers = MessageHandlers()
            let runs = LockedBox(0)
            handlers.on(ConformanceEvent.self) { event, context in
                runs.mutate { $0 += 1 }
                // The handler swallows its first statement's failure and goes on: the duplicate must
                // still end as one, not as a failure and not as a second effect.
                _ = try? await context.connection.execute("""
                    INSERT INTO \(unescaped: table) (message_id, message_key, sequence)
                    VALUES (\(context.envelope.idString)::uuid, \(context.envelope.key), \(event.sequence))
                    """)
            }
            let processor = harness.processor(handlers, handlersActOnlyInTransaction: true)
            let envelope = try harness.fixture.envelope(1)
            #expect(await processor.process(envelope, attempt: 1, mayBeInWorkElsewhere: false) == .handled)
            #expect(await processor.process(envelope, attempt: 1, mayBeInWorkElsewhere: false) == .duplicate)
            #expect(runs.value == 2)
            #expect(try await harness.effects().rows == 1)
            #expect(try await harness.inboxCount() == 1)
            #expect(harness.outcomes("duplicate") == 1)
            #expect(harness.outcomes("handled") == 1)
            #expect(harness.outcomes("failed") == 0)
        }
    }

    @Test("a handler that keeps losing its race is decided again at once a bounded number of times, then fails like any attempt")
    func lostRacesAreBounded() async throws {
        try await withHarness(.kafka) { harness in
            let table = harness.fixture.effectsTable + "_stock"
            try await harness.database.execute("""
                CREATE TABLE \(unescaped: table) (id int PRIMARY KEY, available int NOT NULL CONSTRAINT conformance_available_check CHECK (available >= 0))
                """)
            try await harness.database.execute("INSERT INTO \(unescaped: table) VALUES (1, 0)")
            var handlers = MessageHandlers()
            let runs = LockedBox(0)
            handlers.on(ConformanceEvent.self) { _, context in
                runs.mutate { $0 += 1 }
                // Held for the COMMIT, where the check refuses it every time.
                _ = try await context.connection.executeDeferred("UPDATE \(unescaped: table) SET available = available - 1 WHERE id = 1")
            }
            handlers.decideAgain(whenViolated: "conformance_available_check")
            let envelope = try harness.fixture.envelope(1)
            let outcome = await harness.processor(handlers, handlersActOnlyInTransaction: true)
                .process(envelope, attempt: 1, mayBeInWorkElsewhere: false)
            guard case .failed(let failure) = outcome else { Issue.record("expected a failure, got \(outcome)"); return }
            #expect(!failure.isInfrastructure)
            // Retried later, like a transient failure, not dead-lettered as a bad message.
            #expect(failure.isRetriable)
            #expect(runs.value == MessageProcessor.lostRaceRetries + 1)
            #expect(harness.outcomes("race_lost") == Int64(MessageProcessor.lostRaceRetries))
            #expect(harness.outcomes("failed") == 1)
            #expect(try await harness.inboxCount() == 0)
            // Another constraint's violation is a failure at the first run.
            var other = MessageHandlers()
            other.on(ConformanceEvent.self) { _, context in
                _ = try await context.connection.executeDeferred("UPDATE \(unescaped: table) SET available = available - 1 WHERE id = 1")
            }
            other.decideAgain(whenViolated: "some_other_check")
            guard case .failed(let plain) = await harness.processor(other, handlersActOnlyInTransaction: true)
                .process(envelope, attempt: 1, mayBeInWorkElsewhere: false)
            else { Issue.record("expected a failure"); return }
            #expect(!plain.isRetriable)
            #expect(harness.outcomes("race_lost") == Int64(MessageProcessor.lostRaceRetries))
            try await harness.database.execute("DROP TABLE \(unescaped: table)")
        }
    }

    @Test("with the inbox row riding along, a lost connection or a read-only server counts as an outage only until the row went in")
    func inboxRidesWithHandlerOutage() async throws {
        try await withHarness(.kafka) { harness in
            let table = harness.fixture.effectsTable
            let lost = PostgresError(.connectionClosed, "server closed the connection unexpectedly")
            var before = MessageHandlers()
            before.on(ConformanceEvent.self) { _, _ in throw lost }
            var after = MessageHandlers()
            after.on(ConformanceEvent.self) { event, context in
                try await context.connection.execute("""
                    INSERT INTO \(unescaped: table) (message_id, message_key, sequence)
                    VALUES (\(context.envelope.idString)::uuid, \(context.envelope.key), \(event.sequence))
                    """)
                throw lost
            }
            let envelope = try harness.fixture.envelope(1)
            guard case .failed(let early) = await harness.processor(before, handlersActOnlyInTransaction: true)
                .process(envelope, attempt: 1, mayBeInWorkElsewhere: false)
            else { Issue.record("expected a failure"); return }
            #expect(early.isInfrastructure)
            guard case .failed(let late) = await harness.processor(after, handlersActOnlyInTransaction: true)
                .process(envelope, attempt: 1, mayBeInWorkElsewhere: false)
            else { Issue.record("expected a failure"); return }
            #expect(!late.isInfrastructure)
            #expect(try await harness.effects().rows == 0)
            #expect(try await harness.inboxCount() == 0)
            // A server that refuses the inbox row as a write (25006, as a demoted primary during a
            // failover does; here the streaming replica) is an outage too: the handler's
            // statements never ran.
            let url = try #require(ProcessInfo.processInfo.environment["POSTGRES_REPLICA_URL"])
            let replica = PostgresPool(configuration: try PostgresConfiguration(url: url), logger: ConformanceFixture.logger)
            defer { replica.close() }
            var reads = MessageHandlers()
            reads.on(ConformanceEvent.self) { _, context in try await context.connection.query("SELECT 1 AS one") }
            guard case .failed(let readOnly) = await harness.processor(reads, database: replica, handlersActOnlyInTransaction: true)
                .process(envelope, attempt: 1, mayBeInWorkElsewhere: false)
            else { Issue.record("expected a failure"); return }
            #expect(readOnly.isInfrastructure)
        }
    }

    @Test("a message type without a handler is skipped, not dead-lettered", arguments: TransportKind.allCases)
    func unknownTypeIgnored(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            var other = try harness.fixture.envelope(1)
            other.type = "someone.elses.event"
            try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                try await harness.publish([other, try harness.fixture.envelope(2)])
                #expect(try await harness.waitForEffects(1))
                #expect(try await eventually {
                    (try? harness.metrics.expectCounter("messaging_messages_total", [
                        ("consumer", harness.fixture.consumerName), ("type", "someone.elses.event"), ("outcome", "ignored"),
                    ]).totalValue) == 1
                })
            }
            #expect(try await harness.deadLetters().isEmpty)
        }
    }

    /// The lanes' tasks ran in a plain task group, which keeps every finished child until it is
    /// awaited, and nothing awaited them before shutdown: each worker of the fleet grew by about
    /// 2 MiB a second under load (found by the soak, `heaptrack`: task memory never freed).
    @Test("Kafka: a finished lane's task is freed, so the consumer's memory does not grow with the messages it handled")
    func finishedLanesAreFreed() async throws {
        try await withHarness(.kafka) { harness in
            // A message type nobody handles: each message opens a lane (a key of its own) and is
            // done at once, with no database work, so many go through quickly.
            func unhandled(_ range: Range<Int>) throws -> [MessageEnvelope] {
                try range.map { index in
                    var envelope = try harness.fixture.envelope(index, key: "lane-\(index)")
                    envelope.type = "someone.elses.event"
                    return envelope
                }
            }
            func done() -> Int {
                Int((try? harness.metrics.expectCounter("messaging_messages_total", [
                    ("consumer", harness.fixture.consumerName), ("type", "someone.elses.event"), ("outcome", "ignored"),
                ]).totalValue) ?? 0)
            }
            try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                try await harness.publish(try unhandled(0..<2_000))
                #expect(try await eventually(timeout: .seconds(60)) { done() == 2_000 })
                let before = Self.residentBytes()
                for start in stride(from: 2_000, to: 32_000, by: 5_000) {
                    try await harness.publish(try unhandled(start..<start + 5_000))
                }
                #expect(try await eventually(timeout: .seconds(90)) { done() == 32_000 })
                let grown = Self.residentBytes() - before
                // Kept tasks came to several KiB a message (hundreds of MiB here); freed ones to
                // nothing that grows with the count. The bound leaves room for the tests that run
                // alongside in this process.
                #expect(grown < 100 << 20, "resident memory grew by \(grown >> 20) MiB over 30,000 messages")
            }
        }
    }

    /// This process's resident memory, from /proc/self/statm.
    static func residentBytes() -> Int {
        let fields = ((try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "").split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("Kafka: keys in backoff do not hold handler slots; another key is handled meanwhile")
    func backoffFreesHandlerSlots() async throws {
        try await withHarness(.kafka, partitions: 1) { harness in
            // The slow keys fail until "free" was handled (not for a fixed time a loaded machine
            // could outlast). Had their backoffs kept both slots, "free" would never run, and they
            // would use up their attempts and be dead-lettered.
            let handled = LockedBox<[String]>([])
            let handlers = harness.fixture.recordingHandler { _, context in
                if context.envelope.key != "free" && (context.attempt == 1 || !handled.value.contains("free")) {
                    throw MessagingError.transient("later")
                }
                handled.mutate { $0.append(context.envelope.key) }
            }
            let retry = RetryPolicy(maximumAttempts: 30, initialDelay: .seconds(1), maximumDelay: .seconds(1), jitter: 0)
            try await harness.withConsumer(handlers, retry: retry, maximumConcurrentHandlers: 2) { () async throws in
                try await harness.publish([
                    try harness.fixture.envelope(1, key: "slow-a"), try harness.fixture.envelope(2, key: "slow-b"),
                    try harness.fixture.envelope(3, key: "free"),
                ])
                #expect(try await harness.waitForEffects(3, timeout: .seconds(60)))
            }
            // Both slots were taken by keys that then waited in backoff; "free" did not wait for
            // them (the effects above came in time), and then they went ahead.
            #expect(handled.value.sorted() == ["free", "slow-a", "slow-b"], "\(handled.value)")
        }
    }

    @Test("a database out of reach uses up no attempts: nothing is dead-lettered, and the message is handled once it is back", arguments: TransportKind.allCases)
    func databaseOutageIsNotTheMessagesFault(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            // Nothing listens on port 1: every attempt fails to connect, before the handler runs.
            var unreachable = try PostgresConfiguration(url: "postgresql://emporium:emporium@127.0.0.1:1/emporium")
            unreachable.connectTimeout = .seconds(1)
            let down = PostgresPool(configuration: unreachable, logger: ConformanceFixture.logger)
            defer { down.close() }
            let retry = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
            try await harness.publish([try harness.fixture.envelope(1)])
            try await harness.withConsumer(harness.fixture.recordingHandler(), retry: retry, database: down) { () async throws in
                // Three attempts are allowed; the outage outlasts twice as many tries. Beside the
                // other messaging suites the sixth failure came after 7-9 s (the first after 4-7 s:
                // the consumer's first join); in the whole suite on two cores it once took more
                // than 30 s. The bound is only how long to wait for the event.
                let outlasted = try await eventually(timeout: .seconds(90)) { harness.outcomes("failed") >= 6 }
                #expect(outlasted, "\(harness.outcomes("failed")) failed attempts, \(harness.outcomes("dead_lettered")) dead-lettered")
            }
            #expect(harness.outcomes("dead_lettered") == 0)
            try await harness.withConsumer(harness.fixture.recordingHandler(), retry: retry) { () async throws in
                #expect(try await harness.waitForEffects(1, timeout: .seconds(30)))
            }
            #expect(try await harness.deadLetters().isEmpty)
            #expect(try await harness.effects().rows == 1)
        }
    }

    @Test("a handler whose own connection fails uses up its attempts like any other failure")
    func connectionLostInHandlerCounts() async throws {
        try await withHarness(.kafka) { harness in
            let handlers = harness.fixture.recordingHandler { _, _ in
                throw PostgresError(.connectionClosed, "server closed the connection unexpectedly")
            }
            let retry = RetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
            try await harness.withConsumer(handlers, retry: retry) { () async throws in
                try await harness.publish([try harness.fixture.envelope(1)])
                #expect(try await eventually(timeout: .seconds(30)) { harness.outcomes("dead_lettered") == 1 })
            }
            #expect(harness.outcomes("failed") == 3)
        }
    }

    @Test("a delayed message that no queue takes when it comes due is parked in the unrouted queue, not lost")
    func unroutedDelayedMessageIsParked() async throws {
        try await withHarness(.amqp) { harness in
            let envelope = try harness.fixture.envelope(1)
            let delays = ConformanceFixture.delays
            let message = delays.schedule(
                envelope.amqpMessage(exchange: delays.workExchange, routingKey: "nowhere.\(harness.fixture.id)"), after: .seconds(1))
            try await harness.publisher!.publish(message)
            let parked = try await eventually(timeout: .seconds(20), every: .milliseconds(500)) {
                let letters = try await AMQPDeadLetters.withQueue(
                    delays.unroutedQueue, configuration: try ConformanceFixture.amqp, workExchange: delays.workExchange,
                    logger: ConformanceFixture.logger) { try await $0.read() }
                return letters.contains { $0.messageID == envelope.idString }
            }
            #expect(parked)
        }
    }

    @Test("an AMQP consumer whose connection stopped before it started ends cleanly at shutdown, not with an error")
    func consumerAfterConnectionStopped() async throws {
        try await withHarness(.amqp) { harness in
            let services = try harness.fixture.consumerServices(processor: harness.processor(harness.fixture.recordingHandler()), producer: nil)
            let connection = try #require(services.last as? AMQPConnection)
            // The connection's service ends first (a SIGTERM right after start-up, before the
            // consumer declared its queues).
            let runner = Task { try await connection.run() }
            runner.cancel()
            try await runner.value
            try await withRunning(Array(services.dropLast()), logger: ConformanceFixture.logger) {}
        }
    }

    @Test("an AMQP consumer started while the broker is out of reach keeps trying to declare its queues, then consumes")
    func consumerStartedBeforeTheBroker() async throws {
        try await withHarness(.amqp) { harness in
            // The consumer reaches RabbitMQ through a forwarder that drops its first connections,
            // as a broker that is restarting would.
            let refusals = 5
            let forwarder = try TCPForwarder(refusing: refusals, target: try ConformanceFixture.amqp.port)
            defer { forwarder.stop() }
            try await forwarder.waitUntilListening()
            var configuration = try ConformanceFixture.amqp
            configuration.port = forwarder.port
            let connection = try AMQPConnection(configuration: configuration, logger: ConformanceFixture.logger)
            let consumer = AMQPMessageConsumer(
                settings: harness.fixture.amqpSettings, processor: harness.processor(harness.fixture.recordingHandler()),
                connection: connection, delays: ConformanceFixture.delays, logger: ConformanceFixture.logger)
            try await harness.publish([try harness.fixture.envelope(1)])
            let handled = try await withRunning([consumer, connection], logger: ConformanceFixture.logger) {
                try await harness.waitForEffects(1, timeout: .seconds(60))
            }
            #expect(handled)
            #expect(forwarder.refused() == refusals)
        }
    }
}

/// A TCP forwarder on a free local port (python3, as the services' scripts install it) that
/// closes its first `refusing` connections at once and forwards the rest to `target`.
final class TCPForwarder: Sendable {
    let port: Int
    private let log: URL
    private let process: ChildProcess

    init(refusing: Int, target: Int) throws {
        port = try freeLocalPort()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-forwarder-\(port).log")
        let script = """
            import socket, sys, threading
            port, target, refusing = map(int, sys.argv[1:4])
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen(16)
            print("listening", flush=True)
            def pipe(source, sink):
                try:
                    while data := source.recv(65536):
                        sink.sendall(data)
                except OSError:
                    pass
                for end in (source, sink):
                    try:
                        end.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            accepted = 0
            while True:
                client, _ = server.accept()
                accepted += 1
                if accepted <= refusing:
                    client.close()
                    print("refused", accepted, flush=True)
                    continue
                upstream = socket.create_connection(("127.0.0.1", target))
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
            """
        process = try ChildProcess([
            "/bin/sh", "-c", "exec python3 -c \"$0\" \(port) \(target) \(refusing) > '\(log.path)' 2>&1", script,
        ])
    }

    private var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func waitUntilListening() async throws {
        let up = try await eventually(timeout: .seconds(20), every: .milliseconds(50)) { self.output.contains("listening") }
        guard up else { throw ForwarderFailure(description: "the forwarder did not start: \(output)") }
    }

    /// How many connections it has closed unanswered.
    func refused() -> Int { output.split(separator: "\n").filter { $0.hasPrefix("refused") }.count }

    func stop() {
        process.signal(SIGKILL)
        try? FileManager.default.removeItem(at: log)
    }

    struct ForwarderFailure: Error, CustomStringConvertible {
        let description: String
    }
}
