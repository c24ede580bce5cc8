public import Logging
public import Postgres

/// Deletes the rows of a table that are older than a retention, every `interval`: in batches of
/// `batchSize`, each a statement (and transaction) of its own that skips rows another replica is
/// deleting, so no lock is held for long and any number of replicas can run it. Keeps the tables
/// that grow with every message or request (the inbox, idempotency keys, mail records) bounded.
public struct RetentionPurge: PeriodicPurge {
    /// What to delete: rows of `table` whose `timeColumn` is older than the retention, and, when
    /// given, whose `scope.column` equals `scope.value` and that match `condition` (SQL the
    /// program writes, never input).
    public struct Rows: Sendable {
        public var table: String
        public var timeColumn: String
        public var scope: (column: String, value: String)?
        public var condition: String?
        /// For the log: `inbox rows`.
        public var name: String

        public init(table: String, timeColumn: String, scope: (column: String, value: String)? = nil, condition: String? = nil, name: String) {
            self.table = table
            self.timeColumn = timeColumn
            self.scope = scope
            self.condition = condition
            self.name = name
        }
    }

    let database: PostgresPool
    public let rows: Rows
    public let retention: Duration
    public let interval: Duration
    public let batchSize: Int
    public let logger: Logger
    public var purged: String { rows.name }

    public init(database: PostgresPool, rows: Rows, retention: Duration, interval: Duration = .seconds(60), batchSize: Int = 5_000, logger: Logger) {
        self.database = database
        self.rows = rows
        self.retention = retention
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Deletes every row past the retention, batch after batch; how many went.
    @discardableResult
    public func purgeOnce() async throws -> Int {
        var total = 0
        while true {
            let deleted = try await database.execute(batch())
            total += deleted
            if deleted < batchSize || Task.isCancelled { return total }
        }
    }

    func batch() -> PostgresQuery {
        let seconds = Double(retention.wholeMilliseconds) / 1000
        // $1 is the retention, $2 the scope's value (NULL and unused without a scope).
        let scope = rows.scope.map { "\($0.column) = $2" } ?? "$2::text IS NULL"
        var query: PostgresQuery = """
            DELETE FROM \(unescaped: rows.table) WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM \(unescaped: rows.table)
                WHERE \(unescaped: rows.timeColumn) < now() - make_interval(secs => \(seconds))
                    AND \(unescaped: scope) AND (\(unescaped: rows.condition ?? "true"))
                LIMIT \(unescaped: String(batchSize)) FOR UPDATE SKIP LOCKED))
            """
        query.binds.append(PostgresBind(rows.scope?.value))
        return query
    }
}

extension RetentionPurge.Rows {
    /// `consumer`'s inbox rows: the ids of the messages it handled, by when.
    public static func inbox(consumer: String) -> Self {
        Self(table: "messaging.inbox", timeColumn: "handled_at", scope: ("consumer", consumer), name: "inbox rows")
    }
}
