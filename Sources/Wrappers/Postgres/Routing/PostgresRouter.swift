public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// Settings for ``PostgresRouter``.
public struct PostgresRouterConfiguration: Sendable {
    /// A replica further behind than this is skipped.
    public var maximumReplicaLag: Duration
    /// How often the replica's health and lag are measured.
    public var healthCheckInterval: Duration

    public init(maximumReplicaLag: Duration = .seconds(1), healthCheckInterval: Duration = .seconds(1)) {
        self.maximumReplicaLag = maximumReplicaLag
        self.healthCheckInterval = healthCheckInterval
    }
}

/// Routes work to two pools: the **primary** for writes and read-after-write, the **replica**
/// for reads that may be a little stale.
///
/// A replica that is down or lags past ``PostgresRouterConfiguration/maximumReplicaLag`` is
/// skipped and the read goes to the primary; each such fall-back counts in the
/// `postgres_replica_fallbacks_total` metric (dimension `reason`: `down` or `lagging`).
public final class PostgresRouter: Service, Sendable {
    public let primary: PostgresPool
    public let replica: PostgresPool?
    private let configuration: PostgresRouterConfiguration
    private let logger: Logger
    private let health = Mutex(ReplicaHealth())
    private let primaryPositions = Mutex(WALPositions())
    private let fallbacksDown: Counter
    private let fallbacksLagging: Counter
    private let lagGauge: Gauge

    public init(
        primary: PostgresPool, replica: PostgresPool?,
        configuration: PostgresRouterConfiguration = .init(), logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.primary = primary
        self.replica = replica
        self.configuration = configuration
        self.logger = logger
        self.fallbacksDown = Counter(label: "postgres_replica_fallbacks_total", dimensions: [("reason", "down")], factory: metricsFactory)
        self.fallbacksLagging = Counter(label: "postgres_replica_fallbacks_total", dimensions: [("reason", "lagging")], factory: metricsFactory)
        self.lagGauge = Gauge(label: "postgres_replica_lag_seconds", factory: metricsFactory)
    }

    // MARK: - Routing

    /// Writes, and reads that must see the caller's own writes.
    @discardableResult
    public func withPrimary<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await primary.withConnection(body)
    }

    /// A transaction on the primary.
    ///
    /// With `readYourWrites`, this process's later reads through ``withReadConnection(_:)`` see
    /// the transaction: after the commit the router notes the primary's WAL position (one more
    /// statement on the same connection), and reads go to the primary until the replica has been
    /// measured past it. Meant for writes a caller reads back at once (an admin creating a
    /// product, then fetching it for its ETag), not for a stream of writes: each one keeps this
    /// process's replica reads on the primary for up to a health-check interval. It holds within
    /// one process; another process's reads see the write within `maximumReplicaLag`.
    @discardableResult
    public func withTransaction<R: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        plans: PostgresPlanChoice = .server,
        readYourWrites: Bool = false,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        guard readYourWrites, replica != nil else {
            return try await primary.withTransaction(isolation: isolation, plans: plans, body)
        }
        return try await primary.withConnection { connection in
            let result = try await connection.withTransaction(isolation: isolation, plans: plans, body)
            // Committed: a failure from here on must not turn into an error for the caller. The
            // insert position is past the commit record even with synchronous_commit off (the
            // write position may not be yet).
            let position = try? await connection.query(Self.primaryPosition).single().decode("lsn", as: String.self)
            health.withLock { $0.mustSee(position.flatMap(WALPositions.parse)) }
            return result
        }
    }

    /// A read that tolerates staleness up to the configured lag: on the replica when it is up and
    /// close enough, otherwise on the primary. `body` must only read: if the replica's connection
    /// breaks part-way, `body` runs again on the primary.
    public func withReadConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        guard let replica else { return try await primary.withConnection(body) }
        switch await replicaStatus() {
        case .usable where !health.withLock(\.hasReplayedOwnWrites):
            // Not a fall-back: the replica is fine, it has just not been seen past this
            // process's own write yet (`readYourWrites`).
            return try await primary.withConnection(body)
        case .usable:
            do {
                return try await replica.withConnection(body)
            } catch let error as PostgresError where error.isConnectionLoss || error.code == .poolTimeout {
                markDown(error)
                fallbacksDown.increment()
                return try await primary.withConnection(body)
            }
        case .down:
            fallbacksDown.increment()
            return try await primary.withConnection(body)
        case .lagging:
            fallbacksLagging.increment()
            return try await primary.withConnection(body)
        }
    }

    /// Runs one read statement through ``withReadConnection(_:)``.
    public func read(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withReadConnection { try await $0.query(query) }
    }

    // MARK: - Replica health

    /// The replica's state, measured again when the last measurement is older than the interval.
    func replicaStatus() async -> ReplicaHealth.Status {
        let now = ContinuousClock.now
        let needsCheck = health.withLock { $0.claimCheck(now: now, interval: configuration.healthCheckInterval) }
        if needsCheck { await checkReplica() }
        return health.withLock { $0.status }
    }

    /// Measures the replica's lag, the larger of two figures:
    /// - the time since the last transaction it replayed, when it has received WAL it has not
    ///   replayed yet (zero when it has replayed all it received; right after a restart the
    ///   receive position restarts at a segment boundary, behind the replay position);
    /// - how long ago the primary was already past the replica's replay position. This one sees a
    ///   replica whose WAL receiver has stopped or hangs: it has replayed all it received, so the
    ///   first figure says zero, while the primary moves on. (The receiver's own state,
    ///   `pg_stat_wal_receiver`, is hidden from roles without `pg_read_all_stats`.)
    func checkReplica() async {
        guard let replica else { return }
        let now = ContinuousClock.now
        let notedBefore = health.withLock(\.notedWrites)
        if let position = try? await primary.query(Self.primaryPosition).single().decode("lsn", as: String.self),
           let lsn = WALPositions.parse(position) {
            primaryPositions.withLock { $0.record(lsn, at: now, keeping: max(configuration.maximumReplicaLag * 4, .seconds(10))) }
            health.withLock { $0.primaryMeasured(at: lsn, notedWritesBefore: notedBefore) }
        }
        let status: ReplicaHealth.Status
        do {
            let row = try await replica.query("""
                SELECT CASE
                    WHEN NOT pg_is_in_recovery() THEN 0
                    WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
                END::float8 AS lag,
                pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS replayed
                """).single()
            var lag = try row.decode("lag", as: Double.self)
            if try row.decode("in_recovery", as: Bool.self) {
                let replayed = WALPositions.parse(try row.decode("replayed", as: String?.self) ?? "")
                if let replayed {
                    let behind = primaryPositions.withLock { $0.behind(replayed: replayed, now: now) }
                    lag = max(lag, Double(behind.components.seconds) + Double(behind.components.attoseconds) / 1e18)
                }
                health.withLock { $0.replayed = replayed ?? 0 }
            } else {
                // Promoted: nothing left to replay.
                health.withLock { $0.replayed = .max }
            }
            lagGauge.record(lag)
            let bound = configuration.maximumReplicaLag
            status = Duration.milliseconds(Int64(lag * 1000)) > bound ? .lagging : .usable
            if status == .lagging {
                logger.warning("postgres replica lags; reading from the primary", metadata: [
                    "postgres.server": "\(replica.address)", "postgres.replica_lag_seconds": "\(lag)",
                ])
            }
        } catch {
            status = .down
            logger.warning("postgres replica unavailable; reading from the primary", metadata: [
                "postgres.server": "\(replica.address)", "error": "\(error)",
            ])
        }
        health.withLock { $0.record(status, at: .now) }
    }

    /// The primary's WAL insert position: past every record written before it was asked.
    static let primaryPosition: PostgresQuery = "SELECT pg_current_wal_insert_lsn()::text AS lsn"

    private func markDown(_ error: PostgresError) {
        logger.warning("postgres replica connection failed; reading from the primary", metadata: [
            "postgres.server": "\(replica?.address ?? "")", "error": "\(error)",
        ])
        health.withLock { $0.record(.down, at: .now) }
    }

    // MARK: - Service

    /// Measures the replica at the configured interval until graceful shutdown, so reads rarely
    /// wait for a measurement.
    public func run() async throws {
        guard replica != nil else {
            // Nothing to measure; a service that returned early would end its group.
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await checkReplica()
            try? await Task.sleep(for: configuration.healthCheckInterval)
        }
    }
}

/// The primary's WAL position over the last seconds, to tell how far behind a replica's replay is.
struct WALPositions: Sendable {
    private var samples: [(at: ContinuousClock.Instant, lsn: UInt64)] = []

    mutating func record(_ lsn: UInt64, at instant: ContinuousClock.Instant, keeping window: Duration) {
        samples.append((instant, lsn))
        // The oldest sample ahead of a replay position gives the lag; older than the window, a lag
        // that large is "lagging" whatever its exact size, so one sample past it is enough.
        while samples.count > 2, instant - samples[1].at > window { samples.removeFirst() }
    }

    /// How long ago the primary was first seen past `replayed`; zero if never.
    func behind(replayed: UInt64, now: ContinuousClock.Instant) -> Duration {
        samples.first { $0.lsn > replayed }.map { now - $0.at } ?? .zero
    }

    /// `16/B374D848` (the text of a `pg_lsn`) as a number.
    static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }
}

/// The last measurement of the replica.
struct ReplicaHealth: Sendable {
    enum Status: Sendable { case usable, down, lagging }
    private(set) var status: Status = .usable
    private var checkedAt: ContinuousClock.Instant?
    private var checking = false
    /// The replica's replay position at the last measurement.
    var replayed: UInt64 = 0
    /// The highest primary position after a `readYourWrites` commit of this process; `.max`
    /// when that position could not be read (a later measurement of the primary stands in).
    private(set) var ownWrites: UInt64 = 0
    /// How many `readYourWrites` commits were noted: a measurement of the primary says something
    /// about them only if it was asked after the last of them.
    private(set) var notedWrites = 0

    /// Whether the replica was last seen past every `readYourWrites` commit of this process.
    var hasReplayedOwnWrites: Bool { replayed >= ownWrites }

    /// Notes a commit at `position`, or at an unknown position (nil).
    mutating func mustSee(_ position: UInt64?) {
        notedWrites += 1
        ownWrites = max(ownWrites, position ?? .max)
    }

    /// A measurement of the primary's position, asked after `notedWritesBefore` was read. If no
    /// commit was noted since, every noted one was committed before it was asked, so `position`
    /// is past them all:
    /// - it stands in for commits of unknown position (`.max`);
    /// - a position behind the noted ones means the primary is another server now (a failover
    ///   that lost the last WAL, a restored cluster): the old positions mean nothing there, and
    ///   keeping them would keep reads off the replica until its WAL caught up.
    mutating func primaryMeasured(at position: UInt64, notedWritesBefore: Int) {
        guard notedWrites == notedWritesBefore else { return }
        ownWrites = min(ownWrites, position)
    }

    /// Whether the caller should measure now; only one caller measures at a time.
    mutating func claimCheck(now: ContinuousClock.Instant, interval: Duration) -> Bool {
        if checking { return false }
        if let checkedAt, now - checkedAt < interval { return false }
        checking = true
        return true
    }

    mutating func record(_ status: Status, at instant: ContinuousClock.Instant) {
        self.status = status
        self.checkedAt = instant
        self.checking = false
    }
}
