import EmporiumTestSupport
import Foundation
@testable import Postgres
import Synchronization
import Testing

/// Connections are served by a few event-loop threads (epoll), not a blocked thread each.
@Suite("Connections on event loops", .timeLimit(.minutes(1)))
struct EventLoopTests {
    /// The thread the caller runs on.
    static var currentThread: UInt { UInt(pthread_self()) }

    @Test("sixteen connections waiting at once are served by a few threads, and a holder's code stays on one")
    func fewThreads() async throws {
        var configuration = try TestServers.primary
        configuration.applicationName = "loops-\(UUID().uuidString.prefix(8))"
        configuration.maximumConnections = 16
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let gate = try await PostgresConnection.connect(try TestServers.primary, logger: TestServers.logger)
        defer { pool.close() }
        let key = Int.random(in: 1...1_000_000_000)
        // The sixteen statements below wait for this lock, so all of them are in the server at once.
        try await gate.query("SELECT pg_advisory_lock(\(key))")
        let holders = Task {
            try await withThrowingTaskGroup(of: Set<UInt>.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            var seen: Set<UInt> = [Self.currentThread]
                            try await connection.query("SELECT 1")
                            seen.insert(Self.currentThread)
                            try await connection.query("SELECT pg_advisory_lock_shared(\(key))")
                            seen.insert(Self.currentThread)
                            try await connection.query("SELECT pg_advisory_unlock_shared(\(key))")
                            return seen
                        }
                    }
                }
                return try await group.reduce(into: [Set<UInt>]()) { $0.append($1) }
            }
        }
        #expect(try await eventually {
            try await gate.query("""
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE application_name = \(configuration.applicationName) AND wait_event_type = 'Lock'
                """).single().decode("n", as: Int.self) == 16
        })
        try await gate.query("SELECT pg_advisory_unlock(\(key))")
        let threads = try await holders.value
        #expect(threads.count == 16)
        // Before and after each statement, a holder's code ran on the same thread (no hop)...
        for seen in threads { #expect(seen.count == 1) }
        // ...and the sixteen holders, all waiting at once, shared at most one thread per core (at
        // most four); a thread per connection would have needed sixteen.
        let distinct = threads.reduce(into: Set<UInt>()) { $0.formUnion($1) }
        #expect(distinct.count <= min(4, ProcessInfo.processInfo.activeProcessorCount))
    }

    /// The executor the current task prefers, if any.
    static var preferredExecutor: UnownedTaskExecutor? { withUnsafeCurrentTask { $0?.unownedTaskExecutor } }

    /// Leases two connections at once (nested) and checks that both belong to the loop the caller
    /// runs on and that the caller's code never changed threads. Returns that loop.
    static func leaseTwoOnOwnLoop(_ pool: PostgresPool, _ body: () async throws -> Void = {}) async throws -> UnownedTaskExecutor? {
        let here = preferredExecutor
        let thread = currentThread
        try await pool.withConnection { outer in
            #expect(currentThread == thread)
            try await pool.withConnection { inner in
                #expect(outer.executor.asUnownedTaskExecutor() == here)
                #expect(inner.executor.asUnownedTaskExecutor() == here)
                try await outer.query("SELECT 1")
                try await inner.query("SELECT 1")
                #expect(currentThread == thread)
                try await body()
            }
        }
        #expect(currentThread == thread)
        return here
    }

    @Test("under withLoopAffinity new connections join the caller's loop, and a lease takes an idle one of that loop before another")
    func loopAffinity() async throws {
        var configuration = try TestServers.primary
        configuration.maximumConnections = 4
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        defer { pool.close() }
        var other: UnownedTaskExecutor?
        // Two connections opened on loop A and, while they are held, two on another loop B; they
        // come back B's first, so the last one back (a plain pool's next choice) is A's.
        let first = try await PostgresPool.withLoopAffinity {
            let first = Self.preferredExecutor
            return try await Self.leaseTwoOnOwnLoop(pool) {
                // The loops are handed out in turn (other suites take some meanwhile): a few tries
                // find another, unless this machine has only one.
                for _ in 0..<16 where other == nil {
                    try await PostgresPool.withLoopAffinity {
                        guard Self.preferredExecutor != first else { return }
                        other = try await Self.leaseTwoOnOwnLoop(pool)
                    }
                }
            }
        }
        #expect(first != nil)
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        #expect(other != nil)
        // Loop B's caller gets B's connections although A's came back last, and A's caller A's
        // (callers on a third or fourth loop, on a bigger machine, have no connections of theirs).
        var served: [UnownedTaskExecutor?] = []
        for _ in 0..<32 {
            let loop = try await PostgresPool.withLoopAffinity { () async throws -> UnownedTaskExecutor? in
                guard [first, other].contains(Self.preferredExecutor) else { return nil }
                return try await Self.leaseTwoOnOwnLoop(pool)
            }
            if let loop { served.append(loop) }
        }
        // Both loops' callers were served (the loops come in turn, so 32 tries reach both).
        #expect(served.contains(first) && served.contains(other))
    }

    @Test("a parameter and a result larger than the socket buffers go through whole")
    func largeMessages() async throws {
        let pool = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { pool.close() }
        let big = String(repeating: "é", count: 8_000_000)
        let length = try await pool.query("SELECT octet_length(\(big)) AS n").single().decode("n", as: Int.self)
        #expect(length == 16_000_000)
        let text = try await pool.query("SELECT repeat('xy', 8000000) AS t").single().decode("t", as: String.self)
        #expect(text.utf8.count == 16_000_000)
        let batch: [PostgresQuery] = (0..<40).map { index in "SELECT \(index) AS i, octet_length(\(String(repeating: "a", count: 200_000))) AS n" }
        let results = try await pool.pipeline(batch)
        #expect(try results.map { try $0.single().decode("i", as: Int.self) } == Array(0..<40))
        #expect(try results.allSatisfy { try $0.single().decode("n", as: Int.self) == 200_000 })
    }

    @Test("a second task using a connection while a statement runs gets an error, and the first is unharmed")
    func concurrentUse() async throws {
        var configuration = try TestServers.primary
        configuration.applicationName = "concurrent-\(UUID().uuidString.prefix(8))"
        let gate = try await PostgresConnection.connect(try TestServers.primary, logger: TestServers.logger)
        let connection = try await PostgresConnection.connect(configuration, logger: TestServers.logger)
        let key = Int.random(in: 1...1_000_000_000)
        // The first statement waits for this lock until the second has been tried.
        try await gate.query("SELECT pg_advisory_lock(\(key))")
        let first = Task { try await connection.query("SELECT 7 AS n FROM pg_advisory_lock_shared(\(key))").single().decode("n", as: Int.self) }
        #expect(try await eventually {
            try await gate.query("""
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE application_name = \(configuration.applicationName) AND wait_event_type = 'Lock'
                """).single().decode("n", as: Int.self) == 1
        })
        await #expect { try await connection.query("SELECT 1") } throws: { error in
            (error as? PostgresError)?.message.contains("already running a statement") == true
        }
        try await gate.query("SELECT pg_advisory_unlock(\(key))")
        #expect(try await first.value == 7)
        #expect(try await connection.query("SELECT 2 AS n").single().decode("n", as: Int.self) == 2)
    }

    @Test("a backend terminated while its statement waits fails the statement as a lost connection")
    func terminatedBackend() async throws {
        var configuration = try TestServers.primary
        configuration.applicationName = "terminated-\(UUID().uuidString.prefix(8))"
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let admin = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { pool.close(); admin.close() }
        let waiting = Task { try await pool.query("SELECT pg_sleep(30)") }
        #expect(try await eventually {
            try await admin.query("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE application_name = \(configuration.applicationName) AND state = 'active'
                """).single().decode("n", as: Int.self) == 1
        })
        await #expect { try await waiting.value } throws: { error in
            (error as? PostgresError)?.isConnectionLoss == true
        }
        // The pool dropped the dead connection: the next statement gets a fresh one.
        #expect(try await pool.query("SELECT 3 AS n").single().decode("n", as: Int.self) == 3)
    }

    /// libpq closes a broken connection's socket itself, which takes it out of epoll; the number
    /// then comes back with the next socket the process opens. A loop that took the number for
    /// the old connection's, still watched, never heard of the new one's answers.
    @Test("a new connection that gets the socket number of a broken one on the same loop is heard")
    func socketNumberReused() async throws {
        var configuration = try TestServers.primary
        configuration.applicationName = "reused-\(UUID().uuidString.prefix(8))"
        let admin = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        defer { admin.close() }
        var reused = 0
        // Parallel tests open sockets too: try until the number came back a few times.
        for _ in 0..<20 where reused < 3 {
            try await PostgresPool.withLoopAffinity {
                let broken = try await PostgresConnection.connect(configuration, logger: TestServers.logger)
                _ = try await broken.query("SELECT 1")
                let number = broken.handle.socket
                try await admin.query("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(configuration.applicationName)
                    """)
                await #expect { try await broken.query("SELECT 1") } throws: { ($0 as? PostgresError)?.isConnectionLoss == true }
                // `broken` lives on: only libpq closed its socket.
                let fresh = try await PostgresConnection.connect(configuration, logger: TestServers.logger)
                if fresh.handle.socket == number { reused += 1 }
                // Unheard, this waits for good: the suite's time limit fails the test.
                #expect(try await fresh.query("SELECT 5 AS n").single().decode("n", as: Int.self) == 5)
                withExtendedLifetime(broken) {}
            }
        }
        #expect(reused > 0, "the socket number never came back; nothing was tested")
    }

    /// libpq hands out a COPY result on every call and never the NULL that ends the statement, so
    /// reading results until NULL would spin on the loop's thread for good.
    @Test("COPY to or from the client is refused with an error, and the pool goes on with a fresh connection")
    func copyRefused() async throws {
        var configuration = try TestServers.primary
        configuration.maximumConnections = 1
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        defer { pool.close() }
        await #expect { try await pool.query("COPY (SELECT 1) TO STDOUT") } throws: { error in
            (error as? PostgresError)?.message.contains("COPY") == true
        }
        #expect(try await pool.query("SELECT 4 AS n").single().decode("n", as: Int.self) == 4)
    }
}
