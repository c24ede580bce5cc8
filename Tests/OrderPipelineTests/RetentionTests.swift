import EmporiumTestSupport
import Foundation
import Mailing
import Messaging
import Ordering
import Postgres
import Testing

/// The tables that grow with every message or request are pruned after their retention, by the
/// purges the workers run (`RetentionPurge` with each table's rows), on the fleet's database.
/// Rows are aged by hand; the fleet's own workers run the same purges with the default
/// retentions, so the checks look at what is left, and the batch count only where no worker
/// competes (an inbox consumer of the test's own).
@Suite("Retention of the inbox, idempotency keys and mail records", .timeLimit(.minutes(5)))
struct RetentionTests {
    func count(_ fleet: PipelineFleet, _ query: PostgresQuery) async throws -> Int {
        Int(try await fleet.database.query(query).single().decode("n", as: Int64.self))
    }

    @Test("every foreign key a delete acts on (CASCADE, SET NULL) has an index on its referencing column")
    func foreignKeysIndexed() async throws {
        // Without one, each row a purge deletes scans the referencing table: the soak's mail
        // records took minutes a batch (notifications.mail_id), and never levelled off.
        let fleet = try await PipelineFleet.shared.get()
        let unindexed = try await fleet.database.query("""
            SELECT c.conrelid::regclass::text || '.' || a.attname AS column
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confdeltype IN ('c', 'n', 'd')
              AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
            ORDER BY 1
            """).map { try $0.decode("column", as: String.self) }
        #expect(unindexed.isEmpty, "\(unindexed)")
    }

    @Test("a consumer's inbox rows past the retention go in batches; fresh rows and other consumers' rows stay")
    func inbox() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let (mine, other) = ("retention-\(UUID())", "retention-\(UUID())")
        for (consumer, age, rows) in [(mine, "2 hours", 7), (mine, "0 hours", 2), (other, "2 hours", 3)] {
            try await fleet.database.execute("""
                INSERT INTO messaging.inbox (consumer, message_id, message_type, handled_at)
                SELECT \(consumer), gen_random_uuid(), 'test', now() - \(age)::interval FROM generate_series(1, \(rows))
                """)
        }
        let purge = RetentionPurge(
            database: fleet.database, rows: .inbox(consumer: mine), retention: .seconds(3600), batchSize: 3, logger: PipelineFleet.logger)
        #expect(try await purge.purgeOnce() == 7)
        #expect(try await count(fleet, "SELECT count(*)::bigint AS n FROM messaging.inbox WHERE consumer = \(mine)") == 2)
        #expect(try await count(fleet, "SELECT count(*)::bigint AS n FROM messaging.inbox WHERE consumer = \(other)") == 3)
        #expect(try await purge.purgeOnce() == 0)
        try await fleet.database.execute("DELETE FROM messaging.inbox WHERE consumer IN (\(mine), \(other))")
    }

    @Test("idempotency keys past the retention go, except the key of an order still awaiting its stock decision")
    func idempotencyKeys() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let customer = "retention-\(UUID())"
        let (awaiting, decided) = (UUID(), UUID())
        for (id, stock) in [(awaiting, "awaiting"), (decided, "reserved")] {
            try await fleet.database.execute("""
                INSERT INTO ordering.orders (id, customer_id, status, stock, currency, total_minor, created_at)
                VALUES (\(id), \(customer), 'PENDING', \(stock), 'EUR', 0, now() - interval '2 days')
                """)
        }
        var keys: [(key: String, order: UUID, age: String)] = (1...4).map { ("gone-\($0)", UUID(), "2 days") }
        keys += [("awaiting", awaiting, "2 days"), ("decided", decided, "2 days"), ("fresh", UUID(), "0 days")]
        for key in keys {
            try await fleet.database.execute("""
                INSERT INTO ordering.idempotency_keys (customer_id, idempotency_key, fingerprint, order_id, response_status, response_body, created_at)
                VALUES (\(customer), \(key.key), 'f', \(key.order), 201, '{}'::jsonb, now() - \(key.age)::interval)
                """)
        }
        let purge = RetentionPurge(
            database: fleet.database, rows: .idempotencyKeys, retention: .seconds(3600), batchSize: 2, logger: PipelineFleet.logger)
        try await purge.purgeOnce()
        let left = try await fleet.database.query("""
            SELECT idempotency_key FROM ordering.idempotency_keys WHERE customer_id = \(customer) ORDER BY idempotency_key
            """).map { try $0.decode("idempotency_key", as: String.self) }
        #expect(left == ["awaiting", "fresh"])
        try await fleet.database.execute("DELETE FROM ordering.idempotency_keys WHERE customer_id = \(customer)")
        try await fleet.database.execute("DELETE FROM ordering.orders WHERE customer_id = \(customer)")
    }

    @Test("sent and failed mail records past the retention go, queued ones stay; a notification keeps its entry without delivery details")
    func mails() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let customer = "retention-\(UUID())"
        let mails: [(id: UUID, state: String, age: String)] = [
            (UUID(), "sent", "40 days"), (UUID(), "failed", "40 days"), (UUID(), "queued", "40 days"), (UUID(), "sent", "0 days"),
        ]
        let notification = UUID()
        // One transaction: the fleet's mail worker runs the same purge and could take the old
        // mail before its notification is in.
        try await fleet.database.withTransaction { connection in
            for mail in mails {
                try await connection.execute("""
                    INSERT INTO mailing.mails (id, template, customer_id, state, queued_at)
                    VALUES (\(mail.id), 'payment_reminder', \(customer), \(mail.state), now() - \(mail.age)::interval)
                    """)
            }
            try await connection.execute("""
                INSERT INTO mailing.notifications (id, customer_id, kind, title, mail_id, source_message_id, occurred_at)
                VALUES (\(notification), \(customer), 'mail', 'Reminder', \(mails[0].id), gen_random_uuid(), now() - interval '40 days')
                """)
        }
        let purge = RetentionPurge(
            database: fleet.database, rows: .mails, retention: .seconds(30 * 86_400), batchSize: 1, logger: PipelineFleet.logger)
        try await purge.purgeOnce()
        let left = try await fleet.database.query("SELECT id FROM mailing.mails WHERE customer_id = \(customer)")
            .map { try $0.decode("id", as: UUID.self) }
        #expect(Set(left) == [mails[2].id, mails[3].id])
        let entry = try await fleet.database.query("SELECT mail_id FROM mailing.notifications WHERE id = \(notification)").single()
        #expect(try entry.decode("mail_id", as: UUID?.self) == nil)
        try await fleet.database.execute("DELETE FROM mailing.notifications WHERE customer_id = \(customer)")
        try await fleet.database.execute("DELETE FROM mailing.mails WHERE customer_id = \(customer)")
    }
}

/// The order worker's measure of the stock decisions it waits for (`DecisionBacklog`), on the
/// fleet's database: an order left awaiting for 30 days (older than anything else the tests
/// make) shows in both gauges' figures, and is gone from them once decided.
@Suite("Decision backlog", .timeLimit(.minutes(3)))
struct DecisionBacklogTests {
    @Test("an open order awaiting its decision for 30 days is counted, and is the oldest; once decided it is not")
    func measures() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let (customer, id) = ("backlog-\(UUID())", UUID())
        try await fleet.database.execute("""
            INSERT INTO ordering.orders (id, customer_id, status, stock, currency, total_minor, created_at)
            VALUES (\(id), \(customer), 'PENDING', 'awaiting', 'EUR', 0, now() - interval '30 days')
            """)
        let backlog = DecisionBacklog(database: fleet.database, logger: PipelineFleet.logger)
        let before = try await backlog.measure()
        #expect(before.awaiting >= 1)
        #expect(before.oldestSeconds >= 30 * 86_400)
        try await fleet.database.execute("UPDATE ordering.orders SET stock = 'reserved' WHERE id = \(id)")
        let after = try await backlog.measure()
        #expect(after.oldestSeconds < 30 * 86_400, "\(after)")
        try await fleet.database.execute("DELETE FROM ordering.orders WHERE id = \(id)")
    }
}
