@testable import Catalog
import Contracts
import EmporiumTestSupport
import Foundation
import Logging
@testable import Messaging
import MetricsTestKit
import Postgres
import Testing

/// The product worker reads the stock unlocked and locks it only with the update it sends with its
/// COMMIT (StockReservations.reserve). These tests make a concurrent reservation take the stock
/// between that read and that commit, on a database of their own with the project's migrations.
@Suite("Stock reservations racing", .timeLimit(.minutes(2)))
struct StockRaceTests {
    @Test("a reservation decided on stock that another took before its commit is refused by the check and decided again: rejected, nothing oversold")
    func lostRaceDecidedAgain() async throws {
        try await withRaceDatabase { database in
            let sku = "RACE-1"
            try await addProduct(sku, stock: 5, to: database)
            let metrics = TestMetrics()
            let processor = MessageProcessor(
                settings: MessageConsumerSettings(name: "worker-product", guardTimeToLive: nil, handlersActOnlyInTransaction: true),
                handlers: StockReservations.handlers(), database: database, redis: nil, logger: Logger(label: "stock-race"),
                metricsFactory: metrics)
            let orderID = UUID()
            let created = try MessageEnvelope(
                OrderCreated(orderID: orderID, customerID: "racer", lines: [StockLine(sku: sku, quantity: 3)], totalMinor: 300, currency: "EUR"),
                key: orderID.lowercasedText)

            // Another reservation holds the row: it took 4 of the 5 and has not committed yet.
            let processing = try await database.withTransaction { other -> Task<MessageProcessor.Outcome, Never> in
                try await other.execute("UPDATE catalog.stock SET available = available - 4, reserved = reserved + 4 WHERE sku = \(sku)")
                let processing = Task { await processor.process(created, attempt: 1, mayBeInWorkElsewhere: false) }
                // The worker reads 5 (the committed value), decides to reserve 3, and then waits
                // for the row at its commit's update.
                let waiting = try await eventually(timeout: .seconds(30)) {
                    try await !database.query("""
                        SELECT 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%WITH locked AS%'
                        """).isEmpty
                }
                #expect(waiting, "the worker's update never waited for the row")
                return processing
            }
            let outcome = await processing.value
            // The other reservation's commit left 1: the worker's update would have made it -2.
            #expect(outcome == .handled)
            let stock = try await database.query("SELECT available, reserved FROM catalog.stock WHERE sku = \(sku)").single()
            #expect(try stock.decode("available", as: Int.self) == 1)
            #expect(try stock.decode("reserved", as: Int.self) == 4)
            let decision = try await database.query("SELECT status FROM catalog.reservations WHERE order_id = \(orderID)").single()
            #expect(try decision.decode("status", as: String.self) == "rejected")
            let events = try await database.query("""
                SELECT message_type FROM messaging.outbox WHERE aggregate = \("reservation:" + orderID.lowercasedText)
                """).map { try $0.decode("message_type", as: String.self) }
            #expect(events == [StockRejected.messageType])
            #expect(counter(metrics, "race_lost") == 1)
            #expect(counter(metrics, "handled") == 1)
            #expect(counter(metrics, "failed") == 0)
        }
    }

    @Test("the check that refuses a lost race is the one the product worker declared")
    func checkName() async throws {
        try await withRaceDatabase { database in
            try await addProduct("RACE-2", stock: 0, to: database)
            let refused = try await #require(throws: PostgresError.self) {
                try await database.execute("UPDATE catalog.stock SET available = available - 1 WHERE sku = 'RACE-2'")
            }
            #expect(refused.sqlState == "23514")
            #expect(refused.constraint == StockReservations.availableCheck)
            #expect(StockReservations.handlers().lostRaceConstraints == [StockReservations.availableCheck])
        }
    }

    @Test("an admin's change that waits for a stock row a reservation holds does not deadlock with the reservation's check of the product")
    func adminChangeDuringReservation() async throws {
        try await withRaceDatabase { database in
            let sku = "RACE-3"
            try await addProduct(sku, stock: 5, to: database)
            let catalog = CatalogStore(database: PostgresRouter(primary: database, replica: nil, logger: Logger(label: "stock-race")))
            let orderID = UUID()
            let change = try await database.withTransaction { reservation -> Task<Product, any Error> in
                // The reservation's statement, in its order: the stock rows locked first...
                try await reservation.query("SELECT sku FROM catalog.stock WHERE sku = \(sku) FOR UPDATE")
                // ...while an admin's change locks the product and waits for the stock row...
                let change = Task {
                    try await catalog.update(sku, ProductChanges(priceMinor: 150), expected: nil,
                                             cause: .init(requestID: "race", correlationID: "race"))
                }
                #expect(try await eventually(timeout: .seconds(30)) {
                    try await !database.query("""
                        SELECT 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR %UPDATE%'
                        """).isEmpty
                }, "the admin's change never waited for the stock row")
                // ...then its reservation lines, whose foreign key takes a share of the product's key.
                try await reservation.execute("INSERT INTO catalog.reservations (order_id, status) VALUES (\(orderID), 'reserved')")
                try await reservation.execute("INSERT INTO catalog.reservation_lines (order_id, sku, quantity) VALUES (\(orderID), \(sku), 1)")
                return change
            }
            let changed = try await change.value
            #expect(changed.priceMinor == 150)
            #expect(try await database.query("SELECT 1 FROM catalog.reservation_lines WHERE order_id = \(orderID)").count == 1)
        }
    }

    private func counter(_ metrics: TestMetrics, _ outcome: String) -> Int64 {
        (try? metrics.expectCounter("messaging_messages_total", [
            ("consumer", "worker-product"), ("type", OrderCreated.messageType), ("outcome", outcome),
        ]).totalValue) ?? 0
    }

    /// A product and its stock, written straight to the race database's tables.
    private func addProduct(_ sku: String, stock: Int, to database: PostgresPool) async throws {
        try await database.execute("""
            WITH p AS (INSERT INTO catalog.products (sku, name, price_minor, currency) VALUES (\(sku), 'Race', 100, 'EUR'))
            INSERT INTO catalog.stock (sku, available) VALUES (\(sku), \(stock))
            """)
    }

    /// A database of its own, migrated, dropped afterwards.
    private func withRaceDatabase(_ body: (PostgresPool) async throws -> Void) async throws {
        let base = ProcessInfo.processInfo.environment
        var configuration = try PostgresConfiguration(url: base["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium")
        var admin = configuration
        admin.user = "postgres"
        admin.password = nil
        admin.maximumConnections = 1
        let name = "race_" + UUID().uuidString.prefix(8).lowercased()
        let adminPool = PostgresPool(configuration: admin, logger: Logger(label: "stock-race"))
        defer { adminPool.close() }
        try await adminPool.execute("CREATE DATABASE \(unescaped: name) OWNER \(unescaped: configuration.user)")
        configuration.database = name
        let database = PostgresPool(configuration: configuration, logger: Logger(label: "stock-race"))
        let outcome: Result<Void, any Error>
        do {
            let migrations = try PostgresMigration.load(from: PipelineFleet.repositoryRoot.appendingPathComponent("migrations").path)
            _ = try await PostgresMigrator(pool: database, logger: Logger(label: "stock-race")).migrate(migrations)
            try await body(database)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        database.close()
        _ = try? await adminPool.execute("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
        try outcome.get()
    }
}
