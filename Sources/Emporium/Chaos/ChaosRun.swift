import AMQP
import Auth
import Catalog
import ConnectionPool
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import NIOCore
import NIOHTTP1
import NIOPosix
import Postgres
import Processes
import Sodium

/// One chaos run, in phases:
///
/// 1. set-up: a database of its own (migrated), a Kafka mock cluster in this process with the
///    project's topics, an SMTP catcher, the fleet (``ChaosFleet``), the catalog (through the
///    API) and verified customers whose addresses the mail worker knows;
/// 2. load and faults together for the duration (``ChaosLoad``, ``ChaosInjector``), with a
///    watch for processes that end on their own (restarted, and reported);
/// 3. everything restored, then the drain: nothing in flight, every poison message dead-lettered;
/// 4. the invariants (``ChaosInvariants``) and the report.
struct ChaosRun {
    struct Options: Sendable {
        var seed: UInt64
        var load: Duration
        var eachKindOnce: Bool
        var clients: Int
        var customers: Int
        var products: Int
        var stock: Int
        var drainTimeout: Duration
        var servicesScript: String
        var python: String
        var smtpCatcher: String
        var migrations: String
        var logDirectory: String?
        var keepDatabase: Bool
    }

    /// Short delays, so every timer fires many times in a run.
    static let reminders = ["3s", "6s", "9s"]
    static let expiry: Duration = .seconds(15)
    static let sessionTimeout = "6s"

    let options: Options
    let environment: [String: String]
    let runID: String
    let logger: Logger

    init(options: Options, environment: [String: String]) {
        self.options = options
        self.environment = environment
        runID = "chaos_" + String(options.seed % 1_000_000_007, radix: 36) + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var logger = Logger(label: "emporium.chaos")
        logger.logLevel = .error
        self.logger = logger
    }

    /// `url` naming `database` instead of its own.
    static func url(_ url: String, database: String) throws -> String {
        guard var components = URLComponents(string: url), components.scheme?.hasPrefix("postgres") == true else {
            throw ChaosError("not a postgresql:// URL: \(url.prefix { $0 != ":" })://...")
        }
        components.path = "/" + database
        return components.string ?? url
    }

    private func required(_ key: String) throws -> String {
        guard let value = environment[key], !value.isEmpty else {
            throw ChaosError("\(key) is not set: start the services and load their settings (make services-up; eval \"$(deploy/local/services.sh env)\")")
        }
        return value
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data("[chaos] \(text)\n".utf8))
    }

    func run() async throws -> ChaosReport {
        let began = ContinuousClock.now
        let startedAt = Date()
        let logDirectory = URL(fileURLWithPath: options.logDirectory ?? ".local/chaos/\(runID)")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        say("run \(runID), seed \(options.seed), logs in \(logDirectory.path)")

        // 1. Set-up.
        let primaryURL = try Self.url(try required("POSTGRES_PRIMARY_URL"), database: runID)
        let replicaURL = try Self.url(try required("POSTGRES_REPLICA_URL"), database: runID)
        let primary = try PostgresConfiguration(url: primaryURL, key: "POSTGRES_PRIMARY_URL")
        let admin = try PostgresConfiguration(url: try required("POSTGRES_ADMIN_URL"), key: "POSTGRES_ADMIN_URL")
        let amqpURL = try required("AMQP_URL")
        _ = try required("REDIS_URL")
        try await createDatabase(on: admin)

        let cluster = try KafkaMockCluster.make(brokers: 3, logger: logger)
        for topic in Domains.all.topics.flatMap({ $0.scaled(down: 2).created }) {
            try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: 3)
        }
        let smtpPort = try freeLocalPort()
        let mailDirectory = logDirectory.appendingPathComponent("mail")
        let catcher = try ChildProcess([
            "/bin/sh", "-c",
            "exec '\(options.python)' '\(options.smtpCatcher)' --port \(smtpPort) --directory '\(mailDirectory.path)' >> '\(logDirectory.path)/smtp.log' 2>&1",
        ])
        defer { catcher.signal(SIGTERM) }

        let secret = (0..<48).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
        let fleetEnvironment: [String: String] = [
            "POSTGRES_PRIMARY_URL": primaryURL, "POSTGRES_REPLICA_URL": replicaURL, "POSTGRES_POOL_SIZE": "10",
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers, "KAFKA_SESSION_TIMEOUT": Self.sessionTimeout, "KAFKA_FETCH_WAIT_MAX": "10ms",
            "MESSAGING_NAMESPACE": runID, "MESSAGING_DELAY_LEVELS": "250ms,500ms,1s,2s,4s", "MESSAGING_RETRY_INITIAL_DELAY": "100ms",
            "ORDER_REMINDER_DELAYS": Self.reminders.joined(separator: ","), "ORDER_EXPIRY_DELAY": "\(Self.expiry.components.seconds)s",
            "OUTBOX_POLL_INTERVAL": "200ms", "EMPORIUM_MIGRATIONS_DIR": options.migrations, "AUTH_JWT_SECRET": secret,
            "AUTH_PASSWORD_COST": "minimum", "RATE_LIMIT_AUTH": "off", "RATE_LIMIT_WRITE": "off", "RATE_LIMIT_READ": "off",
            "SMTP_URL": "smtp://127.0.0.1:\(smtpPort)", "SMTP_TIMEOUT": "5s", "MAIL_RETRY_DELAYS": "1s,2s,4s,8s,16s,30s",
            "AMQP_URL": amqpURL, "AUTH_ADMIN_EMAIL": "", "AUTH_ADMIN_PASSWORD": "",
            // Each simulated client is one customer with hundreds of orders, unpaid ones among them.
            "ORDER_MAX_OPEN_ORDERS": "1000000", "ORDER_MAX_OPEN_UNITS": "1000000000",
        ]
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let migrate = try ChildProcess(
            ["/bin/sh", "-c", "exec '\(binary)' migrate >> '\(logDirectory.path)/migrate.log' 2>&1"], environment: fleetEnvironment)
        guard try await migrate.wait(timeout: .seconds(120)) == 0 else { throw ChaosError("emporium migrate failed (\(logDirectory.path)/migrate.log)") }

        let database = PostgresPool(configuration: primary, logger: logger)
        let databaseRunner = Task { try await database.run() }
        defer {
            database.close()
            databaseRunner.cancel()
        }
        let fleet = try ChaosFleet(binary: binary, environment: fleetEnvironment, logDirectory: logDirectory)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try fleet.startAll()
        do {
            try await fleet.waitUntilReady(timeout: .seconds(180), group: group)
            say("fleet ready: \(fleet.members.map(\.name).joined(separator: ", "))")
            let tokens = await AccessTokens(settings: .init(secret: Array(secret.utf8), issuer: "emporium", audience: "emporium-api"))
            let skus = try await createCatalog(fleet: fleet, tokens: tokens, database: database, group: group)
            let customers = try await createCustomers(database: database)
            say("\(skus.count) products of \(options.stock) units, \(customers.count) customers known to the mail worker")
            let report = try await loadAndCheck(
                fleet: fleet, cluster: cluster, database: database, amqpURL: amqpURL, tokens: tokens, skus: skus, customers: customers,
                group: group, logDirectory: logDirectory, mailDirectory: mailDirectory, began: began, startedAt: startedAt)
            await fleet.stopAll()
            try? await group.shutdownGracefully()
            if report.passed && !options.keepDatabase { await dropDatabase(on: admin) }
            return report
        } catch {
            await Task { await fleet.stopAll() }.value
            try? await group.shutdownGracefully()
            throw error
        }
    }

    // MARK: - Set-up

    private func createDatabase(on admin: PostgresConfiguration) async throws {
        try await withAdmin(admin) { pool in
            // Databases of earlier runs that passed were dropped; failed ones are kept for a look,
            // until the next run.
            for row in try await pool.query("SELECT datname FROM pg_database WHERE datname LIKE 'chaos\\_%'") {
                let stale: String = try row.decode("datname")
                _ = try? await pool.execute("DROP DATABASE IF EXISTS \(unescaped: stale) WITH (FORCE)")
            }
            _ = try await pool.execute("CREATE DATABASE \(unescaped: runID) OWNER emporium")
        }
    }

    private func dropDatabase(on admin: PostgresConfiguration) async {
        try? await withAdmin(admin) { pool in _ = try await pool.execute("DROP DATABASE IF EXISTS \(unescaped: runID) WITH (FORCE)") }
    }

    private func withAdmin(_ configuration: PostgresConfiguration, _ body: (PostgresPool) async throws -> Void) async throws {
        var configuration = configuration
        configuration.maximumConnections = 1
        let pool = PostgresPool(configuration: configuration, logger: logger)
        let runner = Task { try await pool.run() }
        defer {
            pool.close()
            runner.cancel()
        }
        try await body(pool)
    }

    /// The products, through the API as an admin; then waits until the order side's copy has them.
    private func createCatalog(fleet: ChaosFleet, tokens: AccessTokens, database: PostgresPool, group: any EventLoopGroup) async throws -> [String] {
        let skus = (1...options.products).map { "CHAOS-\($0)" }
        let connection = try await HTTPClientConnection.connect(to: fleet.apiEndpoints[0], on: group)
        defer { Task { await connection.close() } }
        let token = try await tokens.issue(subject: "chaos-admin", role: "admin").token
        for (index, sku) in skus.enumerated() {
            let product = NewProduct(sku: sku, name: "Chaos product \(index + 1)", priceMinor: Int64(500 + index * 250), currency: "EUR", stock: options.stock)
            let response = try await connection.send(
                .POST, "/products", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: Array(try JSONEncoder().encode(product)))
            guard response.status == 201 else {
                throw ChaosError("POST /products \(sku): HTTP \(response.status) \(String(decoding: response.bytes, as: UTF8.self))")
            }
        }
        try await waitFor("the order side's catalog copy", timeout: .seconds(120)) {
            let known: Int = try await database.query("SELECT count(*)::bigint AS n FROM ordering.catalog WHERE sku = ANY(\(skus)::text[])")[0].decode("n")
            return known == skus.count
        }
        return skus
    }

    /// Verified accounts (as `emporium seed` makes them); returns their ids once the mail worker
    /// has every address.
    private func createCustomers(database: PostgresPool) async throws -> [String] {
        let accounts = AccountSeeding(
            database: PostgresRouter(primary: database, replica: nil, logger: logger), passwords: try await PasswordVault.make(cost: .minimum))
        let domain = "\(runID.replacingOccurrences(of: "_", with: "-")).example"
        for index in 1...options.customers {
            try await accounts.ensure(email: "customer-\(index)@\(domain)", password: "chaos-password-\(index)")
        }
        let ids: [String] = try await database.query("SELECT id::text AS id FROM auth.accounts WHERE email LIKE \("%@" + domain) ORDER BY email")
            .map { try $0.decode("id") }
        try await waitFor("the mail worker's addresses", timeout: .seconds(120)) {
            let known: Int = try await database.query("SELECT count(*)::bigint AS n FROM mailing.recipients WHERE customer_id = ANY(\(ids)::text[])")[0].decode("n")
            return known == ids.count
        }
        return ids
    }

    private func waitFor(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !((try? await condition()) ?? false) {
            guard ContinuousClock.now < deadline else { throw ChaosError("gave up waiting for \(what) after \(timeout)") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    // MARK: - Load, faults, drain, checks

    private func loadAndCheck(
        fleet: ChaosFleet, cluster: KafkaMockCluster, database: PostgresPool, amqpURL: String, tokens: AccessTokens, skus: [String],
        customers: [String], group: any EventLoopGroup, logDirectory: URL, mailDirectory: URL, began: ContinuousClock.Instant, startedAt: Date
    ) async throws -> ChaosReport {
        let producer = try KafkaProducer.make(configuration: KafkaProducerConfiguration(bootstrapServers: [cluster.bootstrapServers]), logger: logger)
        var amqpConfiguration = try AMQPConfiguration(url: amqpURL, key: "AMQP_URL")
        amqpConfiguration.drainTimeout = .milliseconds(200)
        let amqp = try AMQPConnection(configuration: amqpConfiguration, logger: logger)
        return try await withRunning([producer, amqp], logger: logger) {
            let injector = ChaosInjector(
                fleet: fleet, cluster: cluster, servicesScript: options.servicesScript, producer: producer, amqp: amqp,
                workExchange: "\(runID).work", logDirectory: logDirectory)
            let plan = FaultPlan.make(
                seed: options.seed, load: options.load, short: options.eachKindOnce, processes: fleet.members.map(\.name), brokers: cluster.brokerCount)
            let ledger = ChaosLedger()
            let load = ChaosLoad(
                endpoints: fleet.apiEndpoints, tokens: tokens, customers: customers, skus: skus, clients: options.clients, seed: options.seed,
                runTag: runID, orderExpiry: Self.expiry, group: group, ledger: ledger)

            say("load and \(plan.count) faults for \(options.load)")
            let loadStart = ContinuousClock.now
            let deadline = loadStart + options.load
            let watcher = Task {
                while !Task.isCancelled {
                    for name in fleet.reapUnexpectedExits() {
                        say("process ended on its own: \(name); starting it again")
                        try? fleet.start(name)
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            async let faults: Void = injector.run(plan, from: loadStart, until: deadline)
            await load.run(until: deadline)
            await faults
            let loadSeconds = (ContinuousClock.now - loadStart).seconds
            if Task.isCancelled {
                watcher.cancel()
                say("interrupted: restoring everything and stopping the fleet")
                // In a task of its own: this one is cancelled, and every wait in it would end at once.
                await Task { await injector.restoreEverything() }.value
                throw CancellationError()
            }

            say("load stopped; restoring everything, then draining (at most \(options.drainTimeout))")
            await injector.restoreEverything()
            let drainStart = ContinuousClock.now
            try? await fleet.waitUntilReady(timeout: .seconds(120), group: group)
            let checks = ChaosInvariants(database: database)
            let drainDeadline = drainStart + options.drainTimeout
            var moving: [String] = ["not checked"]
            var deadLetters = DeadLetterSnapshot()
            var lastWord = ContinuousClock.now
            var lastRead = ContinuousClock.now - .seconds(5)
            while ContinuousClock.now < drainDeadline {
                moving = (try? await checks.inFlight()) ?? ["the database does not answer"]
                if ContinuousClock.now - lastWord > .seconds(15) {
                    say("draining: \(moving.isEmpty ? "reading the dead letters" : moving.joined(separator: ", "))")
                    lastWord = ContinuousClock.now
                }
                // The dead letters once nothing moves, at most every 5 s (each Kafka read joins a group).
                if moving.isEmpty && ContinuousClock.now - lastRead >= .seconds(5) {
                    lastRead = ContinuousClock.now
                    deadLetters = await readDeadLetters(bootstrap: cluster.bootstrapServers, amqp: amqpConfiguration)
                    let seen = deadLetters.letters.values.flatMap { $0 }
                    let missing = injector.poisonMarkers.filter { poison in !seen.contains { $0.carries(poison.marker) } }
                    if missing.isEmpty { break }
                    say("draining: read the dead letters in \(String(format: "%.1f", (ContinuousClock.now - lastRead).seconds)) s; "
                        + "not there yet: \(missing.map { "\($0.kind.rawValue) \($0.marker)" }.joined(separator: ", "))"
                        + (deadLetters.errors.isEmpty ? "" : "; unreadable: \(deadLetters.errors.joined(separator: "; "))"))
                    lastWord = ContinuousClock.now
                }
                if moving.isEmpty { moving = ["poison messages not yet dead-lettered"] }
                try? await Task.sleep(for: .seconds(1))
            }
            watcher.cancel()
            _ = fleet.reapUnexpectedExits()
            let drainSeconds = (ContinuousClock.now - drainStart).seconds
            if !moving.isEmpty { deadLetters = await readDeadLetters(bootstrap: cluster.bootstrapServers, amqp: amqpConfiguration) }

            let snapshot = ledger.snapshot
            let evidence = ChaosEvidence(
                ledger: snapshot, skus: skus, initialStock: options.stock, expiry: Self.expiry, reminders: Self.reminders.count,
                faults: injector.faults, poison: injector.poisonMarkers, deadLetters: deadLetters.letters,
                deadLetterErrors: deadLetters.errors, captures: Self.captures(in: mailDirectory),
                crashes: fleet.crashes)
            let invariants = try await checks.check(evidence)
            let accepted = Set(snapshot.keys.values.flatMap(\.orders)).count
            return ChaosReport(
                seed: options.seed, eachKindOnce: options.eachKindOnce, runID: runID, startedAt: startedAt, loadSeconds: loadSeconds, drainSeconds: drainSeconds,
                totalSeconds: (ContinuousClock.now - began).seconds, clients: options.clients, customers: customers.count, skus: skus.count,
                initialStock: options.stock, ordersAccepted: accepted, ordersPerSecond: Double(accepted) / max(loadSeconds, 1),
                orderLatencyMs: .init(snapshot.orderLatencies), answers: snapshot.answers,
                faultsByKind: Dictionary(grouping: injector.faults.filter { $0.error == nil }, by: \.kind.rawValue).mapValues(\.count),
                faults: injector.faults, faultErrors: injector.faults.compactMap { fault in fault.error.map { "\(fault.kind.rawValue) \(fault.target): \($0)" } },
                drained: moving.isEmpty, stillMoving: moving, invariants: invariants, logDirectory: logDirectory.path)
        }
    }

    struct DeadLetterSnapshot {
        var letters: [String: [DeadLetter]] = [:]
        var errors: [String] = []
    }

    /// Every dead-letter destination of the fleet: the Kafka topics' and the AMQP queues'.
    ///
    /// Kafka metadata and watermarks come from a client of the read's own: the run's long-lived
    /// producer has seen brokers go down and up, and a request of it can hang on a dead
    /// connection until its socket times out (a minute), which made each read take as long.
    private func readDeadLetters(bootstrap: String, amqp amqpConfiguration: AMQPConfiguration) async -> DeadLetterSnapshot {
        var snapshot = DeadLetterSnapshot()
        do {
            let reader = try KafkaProducer.make(configuration: KafkaProducerConfiguration(bootstrapServers: [bootstrap]), logger: logger)
            try await withRunning([reader], logger: logger) {
                for topic in Domains.all.topics.map(\.deadLetterName) {
                    do {
                        snapshot.letters[topic] = try await KafkaDeadLetters(topic: topic, bootstrapServers: [bootstrap], producer: reader, logger: logger)
                            .read().map(\.letter)
                    } catch {
                        snapshot.errors.append("\(topic): \(error)")
                    }
                }
            }
        } catch {
            snapshot.errors.append("kafka: \(error)")
        }
        // Each queue on a connection of its own, closed after the read, so the next read (every
        // 5 s while draining) sees the letters this one left unsettled.
        for queue in ["auth", "mail", "order"].map({ "\(runID).\($0).dlq" }) {
            do {
                snapshot.letters[queue] = try await AMQPDeadLetters.withQueue(
                    queue, configuration: amqpConfiguration, workExchange: "\(runID).work", logger: logger) { try await $0.read() }
            } catch {
                snapshot.errors.append("\(queue): \(error)")
            }
        }
        return snapshot
    }

    /// The catcher's captures by `X-Emporium-Mail-Id`, with the time each arrived (the file name
    /// starts with the arrival time in nanoseconds).
    static func captures(in directory: URL) -> [String: [Date]] {
        var captures: [String: [Date]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".eml") {
            guard let text = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8),
                let line = text.split(separator: "\r\n", omittingEmptySubsequences: false).prefix(while: { !$0.isEmpty })
                    .first(where: { $0.lowercased().hasPrefix("x-emporium-mail-id:") })
            else { continue }
            let id = line.dropFirst("x-emporium-mail-id:".count).trimmingCharacters(in: .whitespaces)
            let nanoseconds = Double(name.prefix { $0.isNumber }) ?? 0
            captures[id, default: []].append(Date(timeIntervalSince1970: nanoseconds / 1e9))
        }
        return captures
    }
}
