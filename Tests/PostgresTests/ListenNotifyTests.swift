import Foundation
import Postgres
import ServiceLifecycle
import Testing

@Suite("LISTEN/NOTIFY", .timeLimit(.minutes(1)))
struct ListenNotifyTests {
    @Test("notifications reach every listener of their channel, in order, and no other channel")
    func delivery() async throws {
        let configuration = try TestServers.primary
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let listener = try PostgresListener(configuration: configuration, logger: TestServers.logger)
        let channel = "test_" + UUID().uuidString
        let otherChannel = "test_" + UUID().uuidString

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let first = try await listener.listen(to: channel)
            let second = try await listener.listen(to: channel)
            let other = try await listener.listen(to: otherChannel)

            let payloads = ["eins", "zwei — ✓", "{\"order\": 3}"]
            for payload in payloads {
                try await pool.query("SELECT pg_notify(\(channel), \(payload))")
            }
            try await pool.query("SELECT pg_notify(\(otherChannel), \("elsewhere"))")

            var received: [String] = []
            for await notification in first {
                #expect(notification.channel == channel)
                received.append(notification.payload)
                if received.count == payloads.count { break }
            }
            #expect(received == payloads)
            var secondReceived: [String] = []
            for await notification in second {
                secondReceived.append(notification.payload)
                if secondReceived.count == payloads.count { break }
            }
            #expect(secondReceived == payloads)
            var otherIterator = other.makeAsyncIterator()
            #expect(await otherIterator.next()?.payload == "elsewhere")
            group.cancelAll()
        }
    }

    @Test("a notification inside a rolled-back transaction is never delivered")
    func rolledBack() async throws {
        let configuration = try TestServers.primary
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let listener = try PostgresListener(configuration: configuration, logger: TestServers.logger)
        let channel = "test_" + UUID().uuidString
        struct Abort: Error {}

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let notifications = try await listener.listen(to: channel)
            _ = try? await pool.withTransaction { connection in
                try await connection.query("SELECT pg_notify(\(channel), \("rolled back"))")
                throw Abort()
            }
            try await pool.query("SELECT pg_notify(\(channel), \("committed"))")
            var iterator = notifications.makeAsyncIterator()
            #expect(await iterator.next()?.payload == "committed")
            group.cancelAll()
        }
    }
}

extension ListenNotifyTests {
    @Test("a listener whose connection is killed reconnects, listens again and delivers")
    func reconnects() async throws {
        var configuration = try TestServers.primary
        configuration.applicationName = "listener-\(UUID().uuidString.prefix(8))"
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        let listener = try PostgresListener(configuration: configuration, logger: TestServers.logger, reconnectDelay: .milliseconds(50))
        let channel = "test_" + UUID().uuidString

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let notifications = try await listener.listen(to: channel)
            let killed = try await pool.query("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = \(configuration.applicationName)
                """).single().decode("n", as: Int.self)
            #expect(killed == 1)
            // Notifications sent while it was down are lost (PostgreSQL keeps none), so keep
            // sending until one arrives through the new connection.
            let sender = Task {
                for attempt in 0..<200 {
                    try await pool.query("SELECT pg_notify(\(channel), \("after reconnect \(attempt)"))")
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            var iterator = notifications.makeAsyncIterator()
            let received = await iterator.next()
            sender.cancel()
            #expect(received?.payload.hasPrefix("after reconnect") == true)
            let reconnected = try await pool.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(configuration.applicationName)"
            ).single().decode("n", as: Int.self)
            #expect(reconnected == 1)
            group.cancelAll()
        }
    }
}
