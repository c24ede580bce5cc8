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
