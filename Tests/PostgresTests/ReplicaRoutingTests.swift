import EmporiumTestSupport
import Foundation
import MetricsTestKit
import Postgres
import Testing

/// These tests stop the replica or pause its replay, so they run one at a time.
@Suite("Primary/replica routing", .serialized, .timeLimit(.minutes(2)))
struct ReplicaRoutingTests {
    let primary: PostgresPool
    let replica: PostgresPool
    let metrics = TestMetrics()

    init() throws {
        primary = PostgresPool(configuration: try TestServers.primary, logger: TestServers.logger)
        replica = PostgresPool(configuration: try TestServers.replica, logger: TestServers.logger)
    }

    func makeRouter(maximumLag: Duration = .seconds(5)) -> PostgresRouter {
        PostgresRouter(
            primary: primary, replica: replica,
            configuration: PostgresRouterConfiguration(maximumReplicaLag: maximumLag, healthCheckInterval: .milliseconds(50)),
            logger: TestServers.logger, metricsFactory: metrics)
    }

    /// Whether a read was served by the replica (a server in recovery) or the primary.
    func servedByReplica(_ router: PostgresRouter) async throws -> Bool {
        try await router.read("SELECT pg_is_in_recovery() AS replica").single().decode("replica", as: Bool.self)
    }

    func fallbacks(_ reason: String) throws -> Int64 {
        (try? metrics.expectCounter("postgres_replica_fallbacks_total", [("reason", reason)]).totalValue) ?? 0
    }

    @Test("a write to a server in recovery (what a demoted primary answers during a failover) is an outage to wait out, not the statement's fault")
    func readOnlyServerIsAnOutage() async throws {
        do {
            try await replica.query("CREATE TABLE emporium_read_only_probe (x integer)")
            Issue.record("the replica accepted a write")
        } catch let error as PostgresError {
            #expect(error.sqlState == "25006", "\(error)")
            #expect(error.isRetriable, "read-only is not retriable: \(error)")
            #expect(PostgresOutage.isOutage(error), "read-only is not an outage: \(error)")
        }
    }

    @Test("a row written on the primary becomes readable through the replica")
    func replication() async throws {
        let router = makeRouter()
        try await withScratchSchema(primary) { schema in
            try await router.withPrimary { try await $0.query("CREATE TABLE \(unescaped: schema).notes (id uuid PRIMARY KEY, body text)") }
            let id = UUID()
            try await router.withTransaction { try await $0.execute("INSERT INTO \(unescaped: schema).notes VALUES (\(id), \("über"))") }
            let seen = try await eventually {
                let rows = try? await replica.query("SELECT body FROM \(unescaped: schema).notes WHERE id = \(id)")
                return try rows?.first?.decode("body", as: String.self) == "über"
            }
            #expect(seen)
            // Polled: while other suites write hard, the replica can lag past the router's bound.
            #expect(try await eventually(timeout: .seconds(30)) { try await servedByReplica(router) })
            let body = try await router.read("SELECT body FROM \(unescaped: schema).notes WHERE id = \(id)").single()
            #expect(try body.decode("body", as: String.self) == "über")
            // The replica refuses writes.
            let refused = try await #require(throws: PostgresError.self) {
                try await replica.execute("INSERT INTO \(unescaped: schema).notes VALUES (\(UUID()), \("x"))")
            }
            #expect(refused.sqlState == "25006")
        }
    }

    @Test("with the replica stopped, reads fall back to the primary, succeed and are counted")
    func replicaDown() async throws {
        let router = makeRouter()
        #expect(try await eventually(timeout: .seconds(30)) { try await servedByReplica(router) })
        try await runServicesScript("replica-stop")
        do {
            let before = try fallbacks("down")
            for _ in 0..<3 {
                #expect(try await servedByReplica(router) == false)
            }
            #expect(try fallbacks("down") >= before + 3)
        } catch {
            try await runServicesScript("replica-start")
            throw error
        }
        try await runServicesScript("replica-start")
        #expect(try await eventually { (try? await servedByReplica(router)) == true })
    }

    @Test("a replica whose WAL receiver hangs (it has replayed all it received) is skipped once the primary moves on")
    func receiverStopped() async throws {
        let router = makeRouter(maximumLag: .seconds(1))
        let admin = PostgresPool(configuration: try TestServers.replicaAdmin, logger: TestServers.logger)
        #expect(try await eventually(timeout: .seconds(30)) { (try? await servedByReplica(router)) == true })
        let receiver: Int32 = try await admin.query("SELECT pid FROM pg_stat_wal_receiver").single().decode("pid")
        // A receiver that neither receives nor dies: what a half-open connection to the primary looks like.
        kill(receiver, SIGSTOP)
        defer { kill(receiver, SIGCONT) }
        try await withScratchSchema(primary) { schema in
            try await primary.query("CREATE TABLE \(unescaped: schema).t (n int)")
            try await primary.execute("INSERT INTO \(unescaped: schema).t VALUES (1)")
            // The replica cannot have the row; a read that may be stale by at most a second must not miss it for long.
            let seen = try await eventually(timeout: .seconds(30)) {
                (try? await router.read("SELECT count(*)::integer AS n FROM \(unescaped: schema).t").single().decode("n", as: Int.self)) == 1
            }
            #expect(seen, "reads kept going to a replica that stopped receiving")
            #expect(try await servedByReplica(router) == false)
            #expect(try fallbacks("lagging") >= 1)
        }
        kill(receiver, SIGCONT)
        #expect(try await eventually(timeout: .seconds(90)) { (try? await servedByReplica(router)) == true })
    }

    @Test("a replica lagging past the bound is skipped until it catches up")
    func replicaLagging() async throws {
        let router = makeRouter(maximumLag: .seconds(1))
        let admin = PostgresPool(configuration: try TestServers.replicaAdmin, logger: TestServers.logger)
        // Other suites write a lot meanwhile: start from a replica that has caught up.
        #expect(try await eventually(timeout: .seconds(30)) { (try? await servedByReplica(router)) == true })
        try await admin.query("SELECT pg_wal_replay_pause()")
        do {
            try await withScratchSchema(primary) { schema in
                // New WAL the paused replica receives but does not apply.
                try await primary.query("CREATE TABLE \(unescaped: schema).t (n int)")
                try await primary.execute("INSERT INTO \(unescaped: schema).t VALUES (1)")
                #expect(try await eventually(timeout: .seconds(30)) { try await servedByReplica(router) == false })
                #expect(try fallbacks("lagging") >= 1)
            }
        } catch {
            try await admin.query("SELECT pg_wal_replay_resume()")
            throw error
        }
        try await admin.query("SELECT pg_wal_replay_resume()")
        #expect(try await eventually(timeout: .seconds(30)) { try await servedByReplica(router) })
    }

    @Test("after a readYourWrites commit the process reads it back, though the replica has not replayed it; other processes still read the replica, and so does this one once the replica is past it")
    func readYourWrites() async throws {
        let router = makeRouter(maximumLag: .seconds(60))
        let otherProcess = makeRouter(maximumLag: .seconds(60))
        let admin = PostgresPool(configuration: try TestServers.replicaAdmin, logger: TestServers.logger)
        try await withScratchSchema(primary) { schema in
            try await primary.query("CREATE TABLE \(unescaped: schema).t (n int)")
            try #require(try await eventually(timeout: .seconds(30)) {
                (try? await replica.query("SELECT count(*)::integer AS n FROM \(unescaped: schema).t")) != nil
            })
            try #require(try await eventually(timeout: .seconds(30)) { (try? await servedByReplica(router)) == true })
            try await admin.query("SELECT pg_wal_replay_pause()")
            do {
                try await router.withTransaction(readYourWrites: true) {
                    try await $0.execute("INSERT INTO \(unescaped: schema).t VALUES (1)")
                }
                let count = try await router.read("SELECT count(*)::integer AS n FROM \(unescaped: schema).t").single()
                #expect(try count.decode("n", as: Int.self) == 1, "the process did not see its own write")
                #expect(try await servedByReplica(router) == false)
                // Not a fall-back: the replica is fine.
                #expect(try fallbacks("lagging") == 0 && fallbacks("down") == 0)
                #expect(try await servedByReplica(otherProcess))
            } catch {
                try await admin.query("SELECT pg_wal_replay_resume()")
                throw error
            }
            try await admin.query("SELECT pg_wal_replay_resume()")
            #expect(try await eventually(timeout: .seconds(30)) { try await servedByReplica(router) })
        }
    }

    @Test("without a replica, reads go to the primary")
    func noReplica() async throws {
        let router = PostgresRouter(primary: primary, replica: nil, logger: TestServers.logger, metricsFactory: metrics)
        #expect(try await servedByReplica(router) == false)
    }
}
