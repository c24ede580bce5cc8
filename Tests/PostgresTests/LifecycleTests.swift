import Logging
import Postgres
import ServiceLifecycle
import Testing

@Suite("Pools as services", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("graceful shutdown of a service group closes the pool and ends the listener")
    func gracefulShutdown() async throws {
        let configuration = try TestServers.primary
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let listener = try PostgresListener(configuration: configuration, logger: TestServers.logger)
        let group = ServiceGroup(configuration: .init(services: [pool, listener], logger: TestServers.logger))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await pool.query("SELECT 1 AS one").single().decode("one", as: Int.self) == 1)
            let notifications = try await listener.listen(to: "lifecycle_test")

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()

            // The listener's streams end, and the pool refuses new work.
            for await _ in notifications {}
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error.code == .poolClosed)
        }
    }
}
