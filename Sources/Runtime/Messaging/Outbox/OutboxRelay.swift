import Synchronization
public import AMQP
import ConnectionPool
import Foundation
public import Kafka
public import Logging
public import Postgres
public import ServiceLifecycle
public import CoreMetrics

/// Settings of the outbox relay.
public struct OutboxRelaySettings: Sendable {
    /// The outbox table to publish.
    public var table = Outbox.defaultTable
    /// Rows claimed and published per transaction.
    public var batchSize = 500
    /// Batches in flight at once in this process, each in a transaction of its own (the broker's
    /// acknowledgement takes tens of milliseconds; several batches hide it). They split the rows as
    /// replicas do, so the rows of one aggregate still go out in order.
    public var concurrency = 4
    /// How often an idle relay runs a pass regardless (rows whose backoff ended, a missed wake-up).
    public var pollInterval: Duration = .seconds(1)
    /// How far the start of the relay's scans trails its claims: a row whose transaction commits
    /// within this after rows with higher ids were claimed is still found by the next pass (see
    /// ``ScanFloor``); one that took longer waits for the next full scan (`pollInterval`). Each
    /// claim steps over the sent rows of this long: 2 s cost the relay about a tenth of its rate.
    public var scanFloorLag: Duration = .milliseconds(250)
    /// How often the relay looks for ready rows with a cheap query and wakes one idle loop when
    /// there are some (see ``watch(every:)``); `nil` leaves waking to NOTIFY and `pollInterval`. (The default schema sends
    /// no NOTIFY: it serialises the writers' commits; see migration 0004.)
    public var watchInterval: Duration? = .milliseconds(25)
    /// Sent rows older than this are deleted.
    public var retention: Duration = .seconds(7 * 24 * 3600)
    public var pruneInterval: Duration = .seconds(60)
    /// How often the backlog gauges are refreshed.
    public var backlogInterval: Duration = .seconds(5)
    /// Publishing attempts after which a row that fails with a non-retriable error is parked
    /// (`failed_at`) instead of being tried forever.
    public var maximumAttempts = 10
    /// A row that failed waits this long before its next attempt, doubling per attempt up to
    /// `rowRetryMaximumDelay`; other rows go on meanwhile.
    public var rowRetryInitialDelay: Duration = .seconds(1)
    public var rowRetryMaximumDelay: Duration = .seconds(300)
    /// The wait after a failed batch; it doubles up to `maximumBackoff`.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(5)

    /// The `linger.ms` of the relay's Kafka producer unless configured (`OUTBOX_KAFKA_LINGER`):
    /// the relay sends a claimed batch at once, so a longer wait only adds to every hop
    /// (librdkafka's default, 5 ms, added about 4 ms to each, and held each batch's transaction
    /// open as long).
    public static let defaultKafkaLinger: Duration = .milliseconds(1)

    public init() {}
}

/// Publishes the transactional outbox (`emporium relay`; any number of replicas).
///
/// Each pass claims the oldest unsent rows with `FOR UPDATE SKIP LOCKED`, so replicas never
/// publish the same row at once, and leaves out any row whose aggregate has an older unsent row
/// claimed by another replica, so the rows of one aggregate go out in order. It publishes them
/// (Kafka: acknowledged by all in-sync replicas, one call per batch; AMQP: publisher confirms, in
/// waves of one row per aggregate) and marks them sent in the same transaction. A relay that dies mid-batch marks nothing: the rows go out again, and
/// consumers' inboxes drop the duplicates.
///
/// A loop wakes when the watcher sees a ready row (looking every `watchInterval` while no loop is
/// at work), when a NOTIFY arrives (only if a trigger on the table sends one), and every
/// `pollInterval`; a loop that found rows goes on until a pass finds none. Sent rows are pruned
/// after `retention`.
public final class OutboxRelay: Service, Sendable {
    let settings: OutboxRelaySettings
    let database: PostgresPool
    let listener: PostgresListener?
    let kafka: KafkaProducer?
    let amqp: AMQPConnection?
    let delays: AMQPDelays?
    let logger: Logger
    let metrics: MessagingMetrics
    private let doorbell = Doorbell()
    /// Passes the loops have started, and loops in a pass now: the watcher wakes a loop only when
    /// none is in a pass, or none started one since its last look (see ``watch(every:)``).
    private let passesStarted = Atomic<Int>(0)
    private let loopsInPass = Atomic<Int>(0)
    private let scanFloor: Mutex<ScanFloor>

    public init(
        settings: OutboxRelaySettings, database: PostgresPool, listener: PostgresListener?,
        kafka: KafkaProducer?, amqp: AMQPConnection?, delays: AMQPDelays?, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metrics = MessagingMetrics(factory: metricsFactory)
        self.settings = settings
        self.scanFloor = Mutex(ScanFloor(lag: settings.scanFloorLag))
        self.database = database
        self.listener = listener
        self.kafka = kafka
        self.amqp = amqp
        self.delays = delays
        self.logger = logger
    }

    public static let notificationChannel = "messaging_outbox"

    public func run() async throws {
        // Subscribing waits for the listener's connection; shutdown must not wait on it.
        let notifications: AsyncStream<PostgresNotification>?
        do {
            notifications = try await cancelWhenGracefulShutdown { try await self.listener?.listen(to: Self.notificationChannel) }
        } catch is CancellationError {
            return
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let notifications {
                    group.addTask { [doorbell] in
                        for await _ in notifications { doorbell.ringOne() }
                    }
                }
                group.addTask { await self.housekeeping() }
                if let interval = self.settings.watchInterval {
                    group.addTask { await self.watch(every: interval) }
                }
                await withTaskGroup(of: Void.self) { loops in
                    for _ in 0..<max(1, self.settings.concurrency) {
                        // Long-lived: each loop runs on a connection loop, and its lease per
                        // pass takes a connection of that loop without changing threads.
                        loops.addTask(executorPreference: PostgresPool.nextEventLoop()) { await self.relayLoop() }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.doorbell.close()
        }
    }

    /// One of the `concurrency` loops. A loop that found rows goes on until a pass finds none;
    /// one woken loop at a time takes the rows that come in, and a full batch (a backlog) wakes
    /// another. Waking every loop at each ring had them race for the same few rows: at 250 orders
    /// a second, a third of the claims found nothing, and the rest split the ready rows into
    /// batches of four or five, each claim costing the server a plan and a scan.
    private func relayLoop() async {
        var backoff = settings.initialBackoff
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let claimed = try await pass()
                backoff = settings.initialBackoff
                if claimed > 0 && claimed >= settings.batchSize { doorbell.ringOne() }
                if claimed == 0 { await doorbell.wait(timeout: settings.pollInterval) }
            } catch {
                logger.warning("outbox relay pass failed; backing off", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
                await doorbell.wait(timeout: backoff)
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
        }
    }

    private func pass() async throws -> Int {
        passesStarted.add(1, ordering: .relaxed)
        loopsInPass.add(1, ordering: .relaxed)
        defer { loopsInPass.subtract(1, ordering: .relaxed) }
        return try await relayBatch()
    }

    // MARK: - One pass

    struct Row: Sendable {
        let id: Int64
        let aggregate: String
        let destination: MessageDestination
        let envelope: MessageEnvelope
        let attempts: Int
    }

    /// Claims, publishes and marks one batch. Returns the number of rows claimed.
    ///
    /// The COMMIT does not wait for the disk (``PostgresCommit/asynchronous``): by then the rows are
    /// published, and a crash of the server that loses the marks has the rows published again,
    /// as a relay dying before its COMMIT does (rows below the scan floor then wait for the next
    /// full scan, `pollInterval`). A lost failure record only has its row tried again sooner.
    /// The loop is free for its next pass a flush sooner.
    @discardableResult
    public func relayBatch() async throws -> Int {
        try await database.withTransaction(commit: .asynchronous) { connection in
            let floor = scanFloor.withLock { $0.floor(now: .now, fullScanEvery: settings.pollInterval) }
            let rows = try await Self.claim(limit: settings.batchSize, table: settings.table, from: floor, on: connection)
            guard !rows.isEmpty else { return 0 }
            scanFloor.withLock { $0.advance(to: rows[0].id, now: .now) }
            let published = await publish(rows)
            for (row, error) in published.failed { try await recordFailure(of: row, error, on: connection) }
            // Goes out with the COMMIT, in one round trip; a failure there rolls the batch back
            // and its rows go out again (the consumers' inboxes drop the duplicates).
            try await Self.markSent(published.sent.map(\.id), table: settings.table, on: connection)
            metrics.published(published.sent.count { $0.destination.transport == .kafka }, transport: .kafka)
            metrics.published(published.sent.count { $0.destination.transport == .amqp }, transport: .amqp)
            return rows.count
        }
    }

    /// The statement that claims a batch: the oldest ready rows, locked, skipping rows of an
    /// aggregate with an older row unsent elsewhere. Public so that the benchmark runs the very same
    /// SQL in pgbench as the relay's ceiling (`make bench`).
    public static func claimQuery(limit: Int, table: String, from floor: Int64 = 0) -> PostgresQuery {
        // The rows of one aggregate go out in id order, so a row must wait while any older row of
        // its aggregate is unsent. `waiting`: aggregates whose oldest unsent row is backing off
        // after a failure (attempts > 0: the outbox_retrying index); their later rows are not
        // even claimed (claimed and dropped, enough of them would fill every batch and stall the
        // outbox). `foreign_rows`: per aggregate, the oldest unsent row that another relay holds
        // (below our newest row of it; SKIP LOCKED can leave such a row between two of ours);
        // only our rows before it go out now.
        // The probe is written so that only the (aggregate, id) index can serve it, whatever the
        // table's statistics say (a new table has none): LATERAL with LIMIT 1, ordered as that
        // index is, `id + 0` (no id index), and a failed_at test that does not imply the id
        // index's predicate. Planned over the id index, each probe scanned every unsent row below
        // the batch; planned over the index of retried rows when that one was declared with
        // sent_at IS NULL alone, every entry of it, sent rows not yet vacuumed included (0013).
        // A row inserted after this statement's now() and committed before its snapshot is not
        // in `waiting` (no attempt yet) and not claimed; `foreign_rows` holds back the later rows
        // of its aggregate. The limit is a literal: with a bind parameter, the cached generic plan
        // walked the primary key through every sent row. The floor moves with every batch, so
        // the statement runs unprepared (each new text was prepared, a round trip more per batch,
        // until it had filled the connection's cache of prepared statements). Prepared with the
        // floor as a parameter (tried 5 Dec 2026: parsing and planning take about 0.3 ms a claim),
        // the generic plan the server kept, made while the table was new, read `waiting` through
        // the whole (aggregate, id) index: 2.6 to 3.9 ms a claim under load instead of 0.5.
        let query: PostgresQuery = """
            WITH waiting AS MATERIALIZED (
                SELECT aggregate, min(id) AS first_id FROM \(unescaped: table)
                WHERE sent_at IS NULL AND attempts > 0 AND next_attempt_at > now() AND coalesce(failed_at, 'infinity') = 'infinity'
                GROUP BY aggregate
            ), claimed AS (
                SELECT * FROM \(unescaped: table) o
                WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() AND id >= \(unescaped: String(floor))
                    AND NOT EXISTS (SELECT 1 FROM waiting w WHERE w.aggregate = o.aggregate AND w.first_id < o.id)
                ORDER BY id LIMIT \(unescaped: String(limit))
                FOR UPDATE OF o SKIP LOCKED
            ), foreign_rows AS MATERIALIZED (
                SELECT b.aggregate, earlier.id AS first_foreign
                FROM (SELECT aggregate, max(id) AS last_id FROM claimed GROUP BY aggregate) b
                CROSS JOIN LATERAL (
                    SELECT p.id FROM \(unescaped: table) p
                    WHERE p.aggregate = b.aggregate AND p.id + 0 < b.last_id AND p.sent_at IS NULL
                        AND coalesce(p.failed_at, 'infinity') = 'infinity'
                        AND p.id NOT IN (SELECT id FROM claimed)
                    ORDER BY p.aggregate, p.id
                    LIMIT 1) earlier
            )
            SELECT c.id, c.aggregate, c.transport, c.destination, c.delay_ms, c.message_id, c.message_type,
                c.schema_version, c.message_key, c.correlation_id, c.causation_id, c.traceparent, c.occurred_at,
                c.body::text, c.attempts
            FROM claimed c LEFT JOIN foreign_rows f USING (aggregate)
            WHERE f.first_foreign IS NULL OR c.id < f.first_foreign
            ORDER BY c.id
            """
        return query.unprepared()
    }

    static func claim(limit: Int, table: String, from floor: Int64 = 0, on connection: PostgresConnection) async throws -> [Row] {
        let rows = try await connection.query(claimQuery(limit: limit, table: table, from: floor))
        return try rows.map { row in
            let transport = try row.decode("transport", as: String.self)
            let name = try row.decode("destination", as: String.self)
            let destination = transport == "kafka"
                ? MessageDestination.kafka(name)
                : MessageDestination.amqp(name, delay: .milliseconds(try row.decode("delay_ms", as: Int64.self)))
            let envelope = MessageEnvelope(
                id: try row.decode("message_id"),
                type: try row.decode("message_type"), schemaVersion: try row.decode("schema_version"),
                occurredAt: try row.decode("occurred_at"), key: try row.decode("message_key"),
                correlationID: try row.decode("correlation_id", as: String.self),
                causationID: try row.decode("causation_id"), traceParent: try row.decode("traceparent"),
                body: Array(try row.decode("body", as: String.self).utf8))
            return Row(
                id: try row.decode("id"), aggregate: try row.decode("aggregate"), destination: destination,
                envelope: envelope, attempts: try row.decode("attempts"))
        }
    }

    /// RabbitMQ had no queue for the message (none bound yet: its consumer is not deployed). Not a
    /// broker outage, and worth waiting for.
    static func isUnrouted(_ error: any Error) -> Bool {
        (error as? AMQPError)?.code == .returned
    }

    /// Records a failed publish: the error, the row's next attempt (backoff per row), and parks
    /// it once it has failed `maximumAttempts` times with an error a retry cannot fix.
    private func recordFailure(of row: Row, _ error: any Error, on connection: PostgresConnection) async throws {
        let failure = HandlingFailure(error)
        let retriable = failure.isRetriable || Self.isUnrouted(error)
        let park = !retriable && row.attempts + 1 >= settings.maximumAttempts
        let wait = min(settings.rowRetryInitialDelay * pow(2, Double(min(row.attempts, 20))), settings.rowRetryMaximumDelay)
        try await connection.execute("""
            UPDATE \(unescaped: settings.table) SET attempts = attempts + 1, last_error = \(failure.description),
                failed_at = CASE WHEN \(park) THEN now() END,
                next_attempt_at = now() + make_interval(secs => \(Double(wait.wholeMilliseconds) / 1000))
            WHERE id = \(row.id)
            """)
        let metadata: Logger.Metadata = [
            "outbox.id": "\(row.id)", "message.id": "\(row.envelope.idString)", "destination": "\(row.destination)",
            "error": "\(failure)",
        ]
        if park {
            logger.error("outbox row parked after repeated permanent failures; clear failed_at to retry it", metadata: metadata)
        } else {
            logger.warning("outbox row not published; will retry", metadata: metadata)
        }
    }

    static func markSent(_ ids: [Int64], table: String, on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.executeDeferred(markSentQuery(ids, table: table))
    }

    /// The statement that marks a published batch sent (a secret's body is blanked); public for
    /// the benchmark's pgbench reference, like ``claimQuery(limit:table:from:)``.
    public static func markSentQuery(_ ids: [Int64], table: String) -> PostgresQuery {
        """
        UPDATE \(unescaped: table) SET sent_at = now(), attempts = attempts + 1, body = CASE WHEN secret THEN '{}'::jsonb ELSE body END
        WHERE id = ANY(\(ids.map(String.init))::text[]::bigint[])
        """
    }

    // MARK: - Watching

    /// Wakes a loop while ready rows exist: one probe of the unsent rows' partial index per
    /// interval, so an idle relay costs the database next to nothing. While a loop is in a pass
    /// and one started since the last look, the probe is skipped: that loop claims again after a
    /// pass that found rows (a row that comes during its last, empty pass waits for the next
    /// look, at most two intervals). A loop held up (a broker slow to acknowledge) starts no pass,
    /// and then another is woken; the probe counts the held rows as ready too, so that one may
    /// find nothing.
    private func watch(every interval: Duration) async {
        var seen = -1
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = passesStarted.load(ordering: .relaxed)
            let working = loopsInPass.load(ordering: .relaxed) > 0 && started != seen
            seen = started
            if working {
                try? await Task.sleep(for: interval)
                continue
            }
            do {
                let floor = scanFloor.withLock { $0.current(now: .now) }
                let probe: PostgresQuery = """
                    SELECT 1 FROM \(unescaped: settings.table)
                    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() AND id >= \(unescaped: String(floor))
                    LIMIT 1
                    """
                let ready = try await database.query(probe.unprepared())
                if !ready.isEmpty { doorbell.ringOne() }
            } catch {
                logger.debug("outbox watch failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    // MARK: - Housekeeping

    private func housekeeping() async {
        var lastPrune = ContinuousClock.now - settings.pruneInterval
        while !Task.isCancelled {
            do {
                if ContinuousClock.now - lastPrune >= settings.pruneInterval {
                    lastPrune = ContinuousClock.now
                    let pruned = try await prune()
                    if pruned > 0 { logger.info("outbox pruned", metadata: ["outbox.pruned": "\(pruned)"]) }
                }
                try await backlog()
            } catch {
                logger.debug("outbox housekeeping failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.backlogInterval)
        }
    }

    /// Deletes sent rows past the retention, in batches (``RetentionPurge``). Returns how many went.
    @discardableResult
    public func prune() async throws -> Int {
        let rows = RetentionPurge.Rows(table: settings.table, timeColumn: "sent_at", name: "sent outbox rows")
        return try await RetentionPurge(database: database, rows: rows, retention: settings.retention, logger: logger).purgeOnce()
    }

    /// Unsent rows (parked ones excluded) and the age of the oldest, in seconds; also recorded in
    /// the backlog gauges, with the number of parked rows.
    @discardableResult
    public func backlog() async throws -> (count: Int, oldestAge: Double) {
        let row = try await database.query("""
            SELECT count(*) FILTER (WHERE failed_at IS NULL)::bigint AS n,
                count(*) FILTER (WHERE failed_at IS NOT NULL)::bigint AS parked,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)), 0)::float8 AS age
            FROM \(unescaped: settings.table) WHERE sent_at IS NULL
            """).single()
        let backlog = (count: Int(try row.decode("n", as: Int64.self)), oldestAge: try row.decode("age", as: Double.self))
        metrics.outbox(backlog: backlog.count, oldestUnsentSeconds: backlog.oldestAge, parked: Int(try row.decode("parked", as: Int64.self)))
        return backlog
    }
}

/// Where the relay's scans of unsent rows start. Rows are marked sent in place, so until vacuum
/// comes the unsent rows' index starts with entries of rows already sent, which every scan from
/// the beginning steps over (under load, thousands of pages per claim, more with every second
/// vacuum is held back: the relay fell further behind the faster it had to go).
///
/// A claim starts at the lowest id a claim found `lag` ago or earlier. Ids are taken when a row
/// is inserted, not when its transaction commits, so a row can become visible after rows with
/// higher ids were claimed; a floor at the last claim's lowest id left it for the next full scan,
/// up to a poll interval later (at 150 orders/s, about one order in a thousand waited 0.3 to
/// 0.9 s at one relay hop). Trailing by `lag`, a claim still finds every row whose transaction
/// took less than that; a full scan, once per poll interval, finds the rest (a transaction open
/// longer, a failed batch). (The rows of one aggregate commit in id order, so none of them can be
/// left behind a later one.)
struct ScanFloor: Sendable {
    private(set) var lowest: Int64 = 0
    private var nextFullScan: ContinuousClock.Instant?
    /// Claims' lowest ids not `lag` old yet, oldest first (a few dozen at most: the claims of
    /// `lag`).
    private var recent: [(at: ContinuousClock.Instant, id: Int64)] = []
    let lag: Duration

    init(lag: Duration) {
        self.lag = lag
    }

    /// The id to start the next claim at: 0 when a full scan is due.
    mutating func floor(now: ContinuousClock.Instant, fullScanEvery interval: Duration) -> Int64 {
        settle(now: now)
        if let nextFullScan, now < nextFullScan { return lowest }
        nextFullScan = now + interval
        return 0
    }

    /// The id to start a look for ready rows at.
    mutating func current(now: ContinuousClock.Instant) -> Int64 {
        settle(now: now)
        return lowest
    }

    /// Called with the lowest id a claim returned.
    mutating func advance(to id: Int64, now: ContinuousClock.Instant) {
        recent.append((now, id))
        settle(now: now)
    }

    /// Raises the floor to the claims that are `lag` old.
    private mutating func settle(now: ContinuousClock.Instant) {
        while let oldest = recent.first, now - oldest.at >= lag {
            lowest = max(lowest, oldest.id)
            recent.removeFirst()
        }
    }
}
