import AMQP
import EmporiumTestSupport
import Foundation
@testable import Messaging
import MessagingConformance
import MetricsTestKit
import Postgres
import Testing

/// The outbox and its relay, against the real database and brokers. Each test has an outbox
/// table of its own (same shape and trigger as `messaging.outbox`), so relays of parallel tests
/// never see each other's rows.
@Suite("Outbox relay", .timeLimit(.minutes(3)), .usesRabbitMQ)
struct OutboxRelayTests {
    /// Creates the test's outbox table and runs `body` with it.
    func withOutbox<R: Sendable>(_ harness: ConformanceHarness, _ body: (String) async throws -> R) async throws -> R {
        let table = "messaging_test.outbox_\(harness.fixture.id)"
        try await harness.database.execute("CREATE TABLE \(unescaped: table) (LIKE messaging.outbox INCLUDING ALL)")
        try await harness.database.execute("""
            CREATE TRIGGER outbox_notify AFTER INSERT ON \(unescaped: table)
                FOR EACH STATEMENT EXECUTE FUNCTION messaging.notify_outbox()
            """)
        do {
            let result = try await body(table)
            try await harness.database.execute("DROP TABLE \(unescaped: table)")
            return result
        } catch {
            _ = try? await harness.database.execute("DROP TABLE \(unescaped: table)")
            throw error
        }
    }

    func relay(
        _ harness: ConformanceHarness, table: String, metrics: TestMetrics = TestMetrics(),
        configure: (inout OutboxRelaySettings) -> Void = { _ in }
    ) throws -> (OutboxRelay, PostgresListener) {
        var settings = OutboxRelaySettings()
        settings.table = table
        settings.pollInterval = .milliseconds(200)
        configure(&settings)
        let listener = try PostgresListener(configuration: try ConformanceFixture.postgres, logger: ConformanceFixture.logger)
        let relay = OutboxRelay(
            settings: settings, database: harness.database, listener: listener, kafka: harness.producer, amqp: harness.publisher,
            delays: ConformanceFixture.delays, logger: ConformanceFixture.logger, metricsFactory: metrics)
        return (relay, listener)
    }

    func append(_ harness: ConformanceHarness, table: String, _ messages: [OutboxMessage]) async throws {
        try await harness.database.withTransaction { connection in
            try await Outbox.append(messages, on: connection, table: table)
        }
    }

    func unsent(_ harness: ConformanceHarness, table: String) async throws -> Int {
        Int(try await harness.database.query("SELECT count(*)::bigint AS n FROM \(unescaped: table) WHERE sent_at IS NULL")
            .single().decode("n", as: Int64.self))
    }

    @Test("committed events are published and marked sent; rolled-back ones never exist", arguments: TransportKind.allCases)
    func publishesCommittedRows(kind: TransportKind) async throws {
        try await withHarness(kind) { harness in
            try await withOutbox(harness) { table in
                for batch in 0..<10 {
                    try await append(harness, table: table, try (0..<10).map {
                        OutboxMessage(try harness.fixture.envelope(batch * 10 + $0), to: harness.destination)
                    })
                }
                struct Rollback: Error {}
                await #expect(throws: Rollback.self) {
                    try await harness.database.withTransaction { connection in
                        try await Outbox.append(OutboxMessage(try harness.fixture.envelope(999), to: harness.destination), on: connection, table: table)
                        throw Rollback()
                    }
                }
                let (relay, listener) = try relay(harness, table: table)
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        #expect(try await harness.waitForEffects(100))
                        #expect(try await eventually { try await unsent(harness, table: table) == 0 })
                    }
                }
                let effects = try await harness.effects()
                #expect(effects.rows == 100 && effects.distinct == 100)
                let backlog = try await relay.backlog()
                #expect(backlog.count == 0)
            }
        }
    }

    @Test("claims from a moving scan floor run unprepared: the relay's connection keeps no claim statement per floor")
    func claimsStayUnprepared() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                try await append(harness, table: table, try (0..<60).map { OutboxMessage(try harness.fixture.envelope($0), to: harness.destination) })
                // One connection, so that the check below sees the session the claims ran in.
                var configuration = try ConformanceFixture.postgres
                configuration.maximumConnections = 1
                let pool = PostgresPool(configuration: configuration, logger: ConformanceFixture.logger)
                defer { pool.close() }
                var settings = OutboxRelaySettings()
                settings.table = table
                settings.batchSize = 10
                settings.pollInterval = .seconds(600)
                let relay = OutboxRelay(
                    settings: settings, database: pool, listener: nil, kafka: harness.producer, amqp: nil, delays: nil,
                    logger: ConformanceFixture.logger)
                // Each pass starts from the lowest id the one before found: six claim texts.
                for _ in 0..<6 { #expect(try await relay.relayBatch() == 10) }
                #expect(try await unsent(harness, table: table) == 0)
                let probe: PostgresQuery = """
                    SELECT count(*)::bigint AS n FROM pg_prepared_statements WHERE statement LIKE '%WITH waiting ' || 'AS MATERIALIZED%'
                    """
                let prepared = try await pool.query(probe.unprepared()).single().decode("n", as: Int64.self)
                #expect(prepared == 0, "claim statements prepared on the relay's connection")
            }
        }
    }

    /// Ids are taken at insert, not at commit: the API's transactions commit out of id order all
    /// the time. The floor at the last claim's lowest id left such a row for the next full scan
    /// (a poll interval later; in the pipeline bench about one order in a thousand waited 0.3 to
    /// 0.9 s at a relay hop). Before the fix the second pass here claimed nothing.
    @Test("a row whose transaction commits after a later row was claimed goes out with the next pass, not the next full scan")
    func lateCommitBelowTheFloor() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                // Run pass by pass, without its service (the listener is never started).
                let (relay, _) = try relay(harness, table: table) {
                    $0.pollInterval = .seconds(600)
                    $0.scanFloorLag = .seconds(600)
                }
                // The first pass is the full scan; the later ones start at the floor.
                #expect(try await relay.relayBatch() == 0)
                let inserted = AsyncStream<Void>.makeStream()
                let commit = AsyncStream<Void>.makeStream()
                let early = try OutboxMessage(harness.fixture.envelope(1), to: harness.destination)
                // Both streams end on every way out, so a failure cannot leave the transaction
                // open (the table's DROP would wait for it) or this task waiting for it.
                defer { commit.continuation.finish() }
                let late = Task {
                    defer { inserted.continuation.finish() }
                    try await harness.database.withTransaction { connection in
                        try await Outbox.append(early, on: connection, table: table)
                        // The insert may be held to go out with the COMMIT: a statement sends it now.
                        try await connection.query("SELECT 1")
                        inserted.continuation.yield()
                        for await _ in commit.stream { break }
                    }
                }
                for await _ in inserted.stream { break }
                try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(2), to: harness.destination)])
                let ids = try await harness.database.query("SELECT id FROM \(unescaped: table) ORDER BY id").count
                #expect(ids == 1, "only the committed row is visible")
                #expect(try await relay.relayBatch() == 1, "the later row")
                commit.continuation.yield()
                try await late.value
                #expect(try await relay.relayBatch() == 1, "the earlier row, committed after the later one was claimed")
                #expect(try await unsent(harness, table: table) == 0)
            }
        }
    }

    @Test("a claim reads a few index pages however many sent rows the indexes still list")
    func claimAfterManySentRows() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                // 20,000 sent rows of as many aggregates, not yet vacuumed: the unsent rows' partial
                // indexes still hold their entries (as after a burst the autovacuum has not reached).
                try await harness.database.execute("ALTER TABLE \(unescaped: table) SET (autovacuum_enabled = off)")
                try await harness.database.execute("""
                    INSERT INTO \(unescaped: table) (aggregate, transport, destination, message_id, message_type, schema_version, message_key,
                        correlation_id, occurred_at, body)
                    SELECT 'order:' || i, 'kafka', 'orders', gen_random_uuid(), 'order.created', 1, i::text, i::text, now(), '{}'
                    FROM generate_series(1, 20000) i
                    """)
                try await harness.database.execute("UPDATE \(unescaped: table) SET sent_at = now(), attempts = attempts + 1")
                try await harness.database.execute("ANALYZE \(unescaped: table)")
                try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(1), to: harness.destination)])
                let floor = try await harness.database.query("SELECT max(id) AS id FROM \(unescaped: table)").single().decode("id", as: Int64.self)
                let claim = OutboxRelay.claimQuery(limit: 500, table: table, from: floor)
                let plan = try await harness.database.withTransaction { connection in
                    try await connection.query(PostgresQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claim.sql, binds: claim.binds).unprepared()).single()
                        .decode("QUERY PLAN", as: String.self)
                }
                let root = try #require((try JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [[String: Any]])?.first?["Plan"] as? [String: Any])
                let pages = try #require(root["Shared Hit Blocks"] as? Int) + #require(root["Shared Read Blocks"] as? Int)
                #expect(root["Actual Rows"] as? Int == 1, "the claim claims the one unsent row: \(plan)")
                // One row to claim: a few pages of three indexes and the heap. Planned over the index of
                // rows waiting to retry (every unsent row, once), the aggregate probe read them all.
                #expect(pages < 100, "the claim read \(pages) pages: \(plan)")
            }
        }
    }

    /// The relay's loops wait on one doorbell, and the relay rings it with `ringOne` (they raced
    /// for the same few rows when a ring woke them all: a third of the claims found nothing).
    @Test("ringOne wakes one waiter at a time, and a ring with nobody waiting is kept for the next wait")
    func doorbellRingsOne() async throws {
        let doorbell = Doorbell()
        let (woken, wake) = AsyncStream<Void>.makeStream()
        var wakes = woken.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    await doorbell.wait(timeout: .seconds(60))
                    wake.yield()
                }
            }
            #expect(try await eventually { doorbell.waiting == 2 })
            doorbell.ringOne()
            // The waiter leaves the doorbell within ringOne: the other is still registered.
            #expect(doorbell.waiting == 1)
            #expect(await wakes.next() != nil)
            doorbell.ringOne()
            #expect(doorbell.waiting == 0)
            #expect(await wakes.next() != nil)
            try await group.waitForAll()
        }
        // Each ring woke a waiter and none was kept: a wait now lasts until its time-out.
        let waited = ContinuousClock.now
        await doorbell.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - waited >= .milliseconds(50), "a ring that woke a waiter was also kept")
        doorbell.ringOne()
        let start = ContinuousClock.now
        await doorbell.wait(timeout: .seconds(60))
        #expect(ContinuousClock.now - start < .seconds(30), "the kept ring let the wait return at once")
    }

    @Test("the scan floor rises to a claim's lowest id only once that claim is the lag old")
    func scanFloorTrailsClaims() {
        let start = ContinuousClock.now
        var floor = ScanFloor(lag: .seconds(2))
        #expect(floor.floor(now: start, fullScanEvery: .seconds(1)) == 0)  // the first is a full scan
        floor.advance(to: 100, now: start)
        floor.advance(to: 180, now: start + .milliseconds(1500))
        #expect(floor.floor(now: start + .milliseconds(500), fullScanEvery: .seconds(1)) == 0)
        #expect(floor.current(now: start + .milliseconds(1999)) == 0)
        #expect(floor.current(now: start + .seconds(2)) == 100)
        #expect(floor.current(now: start + .milliseconds(3499)) == 100)
        #expect(floor.current(now: start + .milliseconds(3500)) == 180)
        // A claim's lowest id below the floor (a full scan found a late row) never lowers it.
        floor.advance(to: 50, now: start + .seconds(4))
        #expect(floor.current(now: start + .seconds(10)) == 180)
        #expect(floor.floor(now: start + .seconds(10), fullScanEvery: .seconds(1)) == 0)  // the next full scan
        #expect(floor.floor(now: start + .milliseconds(10500), fullScanEvery: .seconds(1)) == 180)
    }

    @Test("two relays at once publish every row once, and each aggregate's rows in order")
    func concurrentRelaysKeepOrder() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                let aggregates = (0..<5).map { "order-\($0)" }
                for round in 0..<40 {
                    try await append(harness, table: table, try aggregates.flatMap { aggregate in
                        try (0..<3).map { step in
                            OutboxMessage(try harness.fixture.envelope(round * 3 + step, key: aggregate), to: harness.destination)
                        }
                    })
                }
                let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
                let (relayA, listenerA) = try relay(harness, table: table, metrics: metricsA) { $0.batchSize = 7 }
                let (relayB, listenerB) = try relay(harness, table: table, metrics: metricsB) { $0.batchSize = 7 }
                try await withRunning([listenerA, listenerB, relayA, relayB]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        #expect(try await harness.waitForEffects(600))
                    }
                }
                func published(_ metrics: TestMetrics) -> Int64 {
                    (try? metrics.expectCounter("messaging_outbox_published_total", [("transport", "kafka")]).totalValue) ?? 0
                }
                #expect(published(metricsA) + published(metricsB) == 600)
                let rows = try await harness.database.query("""
                    SELECT message_key, array_agg(sequence ORDER BY position)::text AS sequences
                    FROM \(unescaped: harness.fixture.effectsTable) GROUP BY message_key
                    """)
                #expect(rows.count == 5)
                for row in rows {
                    let sequences = try row.decode("sequences", as: String.self).dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }
                    let aggregate = try row.decode("message_key", as: String.self)
                    #expect(sequences == Array(0..<120), "aggregate \(aggregate)")
                }
            }
        }
    }

    @Test("a commit wakes the relay through NOTIFY, without waiting for its poll")
    func notifyWakesTheRelay() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                let (relay, listener) = try relay(harness, table: table) {
                    $0.pollInterval = .seconds(120)
                    $0.watchInterval = nil
                }
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        // The first pass runs at start; this row comes after, while the relay sleeps.
                        try await Task.sleep(for: .milliseconds(500))
                        try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(1), to: harness.destination)])
                        #expect(try await eventually(timeout: .seconds(10)) { try await unsent(harness, table: table) == 0 })
                        #expect(try await harness.waitForEffects(1))
                    }
                }
            }
        }
    }

    @Test("without NOTIFY (the default schema) the watcher wakes the relay, without waiting for its poll")
    func watcherWakesTheRelay() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                try await harness.database.execute("DROP TRIGGER outbox_notify ON \(unescaped: table)")
                let (relay, listener) = try relay(harness, table: table) {
                    $0.pollInterval = .seconds(120)
                    $0.watchInterval = .milliseconds(25)
                }
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        try await Task.sleep(for: .milliseconds(500))
                        try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(1), to: harness.destination)])
                        #expect(try await eventually(timeout: .seconds(10)) { try await unsent(harness, table: table) == 0 })
                        #expect(try await harness.waitForEffects(1))
                    }
                }
            }
        }
    }

    @Test("without notifications the relay still polls")
    func pollingFallback() async throws {
        try await withHarness(.amqp) { harness in
            try await withOutbox(harness) { table in
                var settings = OutboxRelaySettings()
                settings.table = table
                settings.pollInterval = .milliseconds(200)
                let relay = OutboxRelay(
                    settings: settings, database: harness.database, listener: nil, kafka: nil, amqp: harness.publisher,
                    delays: ConformanceFixture.delays, logger: ConformanceFixture.logger)
                try await withRunning([relay]) { () async throws in
                    try await Task.sleep(for: .milliseconds(300))
                    try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(1), to: harness.destination)])
                    #expect(try await eventually(timeout: .seconds(10)) { try await unsent(harness, table: table) == 0 })
                }
            }
        }
    }

    @Test("a delayed event goes out through the delay queues: never early, and it arrives")
    func delayedEvent() async throws {
        try await withHarness(.amqp) { harness in
            try await withOutbox(harness) { table in
                let arrived = LockedBox<ContinuousClock.Instant?>(nil)
                let handlers = harness.fixture.recordingHandler { event, _ in
                    if event.sequence == 1 { arrived.mutate { $0 = ContinuousClock.now } }
                }
                let (relay, listener) = try relay(harness, table: table)
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(handlers) { () async throws in
                        // One event without delay first, so the relay and the consumer are connected.
                        try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(0), to: harness.destination)])
                        #expect(try await harness.waitForEffects(1, timeout: .seconds(20)))
                        let start = ContinuousClock.now
                        try await append(harness, table: table, [
                            OutboxMessage(try harness.fixture.envelope(1), to: .amqp(harness.fixture.queue, delay: .seconds(2))),
                        ])
                        #expect(try await harness.waitForEffects(2, timeout: .seconds(20)))
                        let elapsed = try #require(arrived.value) - start
                        // Never early: the delay queue held it. How late a delay may be is the
                        // conformance test's (ConformanceTests.delayedDelivery), on delay queues
                        // of its own; these shared ones also carry other suites' retries, and a
                        // CI run with every suite in parallel saw this one arrive after 6.3 s.
                        #expect(elapsed >= .milliseconds(1800), "arrived after \(elapsed)")
                    }
                }
            }
        }
    }

    @Test("a row the broker refuses for good is parked after its attempts, and the others still go out")
    func refusedRowIsParked() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                var huge = try harness.fixture.envelope(1, key: "bad")
                huge.body = Array("{\"sequence\": 1, \"padding\": \"\(String(repeating: "x", count: 1_200_000))\"}".utf8)
                try await append(harness, table: table, [
                    OutboxMessage(huge, to: harness.destination),
                    OutboxMessage(try harness.fixture.envelope(3, key: "good"), to: harness.destination),
                ])
                let (relay, listener) = try relay(harness, table: table) {
                    $0.maximumAttempts = 2
                    $0.rowRetryInitialDelay = .milliseconds(100)
                }
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        #expect(try await harness.waitForEffects(1, timeout: .seconds(20)))
                        let parkedOne = try await eventually(timeout: .seconds(20)) {
                            try await harness.database.query("SELECT 1 FROM \(unescaped: table) WHERE failed_at IS NOT NULL").count == 1
                        }
                        #expect(parkedOne)
                    }
                }
                let row = try await harness.database.query("SELECT attempts, last_error FROM \(unescaped: table) WHERE failed_at IS NOT NULL").single()
                #expect(try row.decode("attempts", as: Int.self) == 2)
                let lastError = try row.decode("last_error", as: String.self)
                #expect(lastError.contains("kafka."), "\(lastError)")
                #expect(try await relay.backlog().count == 0)
            }
        }
    }

    @Test("a row with no route yet waits with backoff, is not parked, and goes out once its queue is bound")
    func unroutedRowWaits() async throws {
        try await withHarness(.amqp) { harness in
            try await withOutbox(harness) { table in
                let routingKey = "later.\(harness.fixture.id)"
                try await append(harness, table: table, [OutboxMessage(try harness.fixture.envelope(1), to: .amqp(routingKey))])
                let (relay, listener) = try relay(harness, table: table) {
                    $0.maximumAttempts = 2
                    $0.rowRetryInitialDelay = .milliseconds(200)
                    $0.rowRetryMaximumDelay = .milliseconds(400)
                }
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        let retried = try await eventually(timeout: .seconds(20)) {
                            let row = try await harness.database.query("SELECT attempts FROM \(unescaped: table)").single()
                            return try row.decode("attempts", as: Int.self) >= 3
                        }
                        #expect(retried)
                        #expect(try await harness.database.query("SELECT 1 FROM \(unescaped: table) WHERE failed_at IS NOT NULL").isEmpty)
                        try await harness.publisher!.declare(AMQPTopology(bindings: [
                            AMQPBinding(queue: harness.fixture.queue, exchange: ConformanceFixture.delays.workExchange, routingKey: routingKey),
                        ]))
                        #expect(try await harness.waitForEffects(1, timeout: .seconds(20)))
                    }
                }
            }
        }
    }

    @Test("rows queued behind a row in backoff do not fill the batches: other aggregates still go out")
    func backoffDoesNotStallTheOutbox() async throws {
        try await withHarness(.amqp) { harness in
            try await withOutbox(harness) { table in
                var rows = [OutboxMessage(try harness.fixture.envelope(0, key: "stuck"), to: .amqp("nowhere.\(harness.fixture.id)"))]
                rows += try (1...12).map { OutboxMessage(try harness.fixture.envelope($0, key: "stuck"), to: harness.destination) }
                rows.append(OutboxMessage(try harness.fixture.envelope(99, key: "free"), to: harness.destination))
                try await append(harness, table: table, rows)
                let (relay, listener) = try relay(harness, table: table) {
                    $0.batchSize = 5
                    $0.concurrency = 1
                    $0.rowRetryInitialDelay = .seconds(60)
                }
                try await withRunning([listener, relay]) { () async throws in
                    try await harness.withConsumer(harness.fixture.recordingHandler()) { () async throws in
                        #expect(try await harness.waitForEffects(1, timeout: .seconds(20)))
                    }
                }
                let applied = try await harness.database.query("SELECT sequence FROM \(unescaped: harness.fixture.effectsTable)")
                #expect(try applied.map { try $0.decode("sequence", as: Int.self) } == [99])
                #expect(try await unsent(harness, table: table) == 13)
            }
        }
    }

    @Test("one message, a few (VALUES rows) and a batch (arrays) are stored alike, column for column")
    func oneAndManyStoredAlike() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                func message() -> OutboxMessage {
                    let envelope = MessageEnvelope(
                        type: "probe.stored", schemaVersion: 3, occurredAt: Date(timeIntervalSince1970: 1_796_000_000.123456), key: "k,{1}",
                        correlationID: "corr \"q\"", causationID: "", traceParent: "",
                        body: Array(#"{"note": "a \"quoted\" ü 🚀 \\ back, {braces}"}"#.utf8))
                    return OutboxMessage(envelope, to: .amqp("probe.queue", delay: .milliseconds(1_500)), aggregate: "agg:1", secret: true)
                }
                // One, then two (VALUES rows), then one more than VALUES takes (arrays).
                let messages = (0..<(3 + Outbox.valuesRowLimit + 1)).map { _ in message() }
                try await append(harness, table: table, [messages[0]])
                try await append(harness, table: table, Array(messages[1...2]))
                try await append(harness, table: table, Array(messages[3...]))
                let rows = try await harness.database.query("""
                    SELECT message_id::text AS id, (aggregate, transport, destination, message_type, schema_version, message_key,
                        correlation_id, causation_id, traceparent, occurred_at, body, delay_ms, secret, attempts)::text AS stored
                    FROM \(unescaped: table) o ORDER BY o.id
                    """).map { (try $0.decode("id", as: String.self), try $0.decode("stored", as: String.self)) }
                #expect(rows.map(\.0) == messages.map(\.envelope.idString))
                #expect(Set(rows.map(\.1)).count == 1, "\(rows.map(\.1))")
                // An empty causation and trace context are stored as NULL (nothing between the
                // commas), not as "".
                #expect(rows.first?.1.contains(#""corr ""q""",,,"#) == true, "\(rows.first?.1 ?? "")")
                let claimed = try await harness.database.withTransaction { connection in
                    try await OutboxRelay.claim(limit: 100, table: table, on: connection)
                }
                #expect(claimed.map(\.envelope.idString) == messages.map(\.envelope.idString))
                #expect(claimed.allSatisfy {
                    $0.destination == messages[0].destination && $0.aggregate == "agg:1" && $0.envelope.causationID == nil
                        && $0.envelope.traceParent == nil && $0.envelope.schemaVersion == 3 && $0.envelope.key == "k,{1}"
                        && $0.envelope.body == claimed[0].envelope.body && $0.envelope.occurredAt == claimed[0].envelope.occurredAt
                })
            }
        }
    }

    @Test("sent rows are pruned after the retention; unsent rows stay")
    func pruning() async throws {
        try await withHarness(.kafka) { harness in
            try await withOutbox(harness) { table in
                try await append(harness, table: table, try (0..<6).map { OutboxMessage(try harness.fixture.envelope($0), to: harness.destination) })
                try await harness.database.execute("""
                    UPDATE \(unescaped: table) SET sent_at = now() - interval '2 hours'
                    WHERE id IN (SELECT id FROM \(unescaped: table) ORDER BY id LIMIT 4)
                    """)
                try await harness.database.execute("""
                    UPDATE \(unescaped: table) SET sent_at = now() WHERE id = (SELECT max(id) FROM \(unescaped: table))
                    """)
                let (relay, _) = try relay(harness, table: table) { $0.retention = .seconds(3600) }
                #expect(try await relay.prune() == 4)
                #expect(try await relay.backlog().count == 1)
                let left = try await harness.database.query("SELECT count(*)::bigint AS n FROM \(unescaped: table)").single()
                #expect(try left.decode("n", as: Int64.self) == 2)
            }
        }
    }
}
