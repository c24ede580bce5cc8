import ArgumentParser
import Foundation
import Logging
import Postgres
import Redis

/// Throughput probes for `make bench`. Each prints one JSON line, `{"name":..., "value":..., "unit":...}`,
/// which `Benchmarks/run.sh` sets against the reference tool measured in the same run.
@main
struct EmporiumBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium-bench",
        subcommands: [
            OrderOutboxBench.self, RedisSetBench.self, KafkaProduceBench.self, KafkaConsumeBench.self, AMQPPublishBench.self,
            AMQPConsumeBench.self, RelayBench.self, RelaySQLBench.self, ConsumerBench.self,
        ]
    )
}

/// One order row and one outbox row with a jsonb payload per transaction: the same SQL as
/// `Benchmarks/order_outbox.pgbench`.
struct OrderOutboxBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "postgres")

    @Option var clients = 1
    @Option var seconds = 10
    @Flag(help: "Each client leases one connection for the whole run (as a pgbench client holds one) instead of one lease per transaction.")
    var holdConnection = false
    @Flag(help: "Clients run on Swift's global executor instead of `PostgresPool.withLoopAffinity`, so each lease hops onto a connection's loop and back.")
    var withoutAffinity = false
    @Option var url = ProcessInfo.processInfo.environment["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium"

    func run() async throws {
        var configuration = try PostgresConfiguration(url: url, key: "--url")
        configuration.maximumConnections = clients
        let pool = PostgresPool(configuration: configuration, logger: Logger(label: "bench"))
        defer { pool.close() }

        @Sendable func transaction(on held: PostgresConnection? = nil) async throws {
            let customer = Int.random(in: 1...100_000)
            let amount = Int.random(in: 100...100_000)
            @Sendable func body(_ connection: PostgresConnection) async throws {
                let id = try await connection.query("""
                    INSERT INTO bench.orders (id, customer_id, total_minor, currency, status) \
                    VALUES (gen_random_uuid(), \(customer), \(amount), 'EUR', 'PENDING') RETURNING id
                    """).single().decode("id", as: UUID.self)
                try await connection.execute("""
                    INSERT INTO bench.outbox (aggregate_id, type, payload) VALUES (\(id), 'order.created', \
                    jsonb_build_object('customer', \(customer)::bigint, 'total', \(amount)::bigint, 'currency', 'EUR'::text))
                    """)
            }
            if let held {
                try await held.withTransaction(body)
            } else {
                try await pool.withTransaction(body)
            }
        }

        // A client is long-lived: it runs where its connections' answers arrive (see
        // `PostgresPool.withLoopAffinity`), unless measured without.
        @Sendable func client<R>(_ body: () async throws -> R) async throws -> R {
            withoutAffinity ? try await body() : try await PostgresPool.withLoopAffinity(body)
        }

        // Open every connection before the clock starts, as pgbench does.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients { group.addTask { try await client { try await transaction() } } }
            try await group.waitForAll()
        }
        let started = ContinuousClock.now
        let deadline = started + .seconds(seconds)
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    @Sendable func loop(_ held: PostgresConnection?) async throws -> Int {
                        var count = 0
                        while ContinuousClock.now < deadline {
                            try await transaction(on: held)
                            count += 1
                        }
                        return count
                    }
                    return holdConnection ? try await pool.withConnection { try await loop($0) } : try await client { try await loop(nil) }
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        report(name: "postgres order+outbox tx, \(clients) clients\(holdConnection ? ", held connections" : "")", value: Double(total) / elapsed.seconds, unit: "tx/s")
    }
}

/// `SET key value NX PX 30000` on random keys: the same command as `redis-benchmark ... SET
/// bench:__rand_int__ value NX PX 30000`.
struct RedisSetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redis")

    @Option var concurrency = 16
    @Option var pipeline = 1
    @Option var requests = 200_000
    @Option var url = ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"

    func run() async throws {
        var configuration = try RedisConfiguration(url: url, key: "--url")
        configuration.maximumConnections = concurrency
        let redis = RedisPool(configuration: configuration, logger: Logger(label: "bench"))
        defer { redis.close() }
        let pipeline = max(1, self.pipeline)
        let perClient = requests / concurrency / pipeline

        // Keys drawn by a cheap generator, like redis-benchmark's, so the harness measures the
        // client rather than the system's CSPRNG.
        @Sendable func command(_ random: inout SplitMix64) -> [RedisArgument] {
            ["SET", RedisArgument("bench:\(random.next() % 1_000_000)"), "value", "NX", "PX", "30000"]
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency { group.addTask { try await redis.command(["PING"]) } }
            try await group.waitForAll()
        }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    try await redis.withConnection { connection in
                        var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
                        for _ in 0..<perClient {
                            if pipeline == 1 {
                                try await connection.command(command(&random))
                            } else {
                                _ = try await connection.pipeline((0..<pipeline).map { _ in command(&random) })
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let done = perClient * pipeline * concurrency
        report(name: "redis SET NX PX, \(concurrency) clients, pipeline \(pipeline)", value: Double(done) / elapsed.seconds, unit: "ops/s")
    }
}

/// A small, fast pseudo-random generator (SplitMix64) for benchmark keys.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

func report(name: String, value: Double, unit: String) {
    let line: [String: Any] = ["name": name, "value": (value * 10).rounded() / 10, "unit": unit]
    let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
