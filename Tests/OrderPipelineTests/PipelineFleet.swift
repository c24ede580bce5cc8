import AMQP
import Contracts
import EmporiumTestSupport
import Foundation
import Kafka
import Logging
import Postgres
import Synchronization

/// The whole fleet as separate `emporium` processes (api, relay, an auth worker, three product
/// workers, an order worker, a mail worker) on the real servers, with delays of seconds, and an
/// SMTP catcher of its own. Everything it uses is its own:
/// a fresh database (on the primary, streamed to the replica), a Kafka mock cluster (in interop
/// mode the external broker, with the project's topics created there), and a RabbitMQ
/// namespace; so the suites' tests can share it while each uses its own SKUs and customers.
/// Started once per test process (``shared``); its processes get SIGTERM at exit.
final class PipelineFleet: Sendable {
    static let reminders: [Duration] = [.seconds(1), .seconds(2), .seconds(3)]
    /// 20 s: tests that act on an order after its reservation (pay, cancel, admin actions) need
    /// its expiry not to come first; with 12 s a loaded machine's reservation (up to 7.5 s) and
    /// three requests after it reached the expiry, and the admin's cancel got 409.
    static let expiry: Duration = .seconds(20)
    static let productWorkers = 3
    /// The verification code's lifetime: long enough to read the mail and use the code on a loaded
    /// machine, short enough for one test to wait out. 20 s was too short on CI's machine: a
    /// password reset's code (sent, mailed, then a wrong try and the right one, each hashing the new
    /// password with argon2id while the suite's other tests log in) expired before it was used. The
    /// rule itself (refused past its time) is unit-tested with a test clock in AuthRulesTests; the
    /// fleet only proves the delayed expiry deletes the code, which the wait below covers.
    static let codeLifetime: Duration = .seconds(60)
    static let mailRetryDelays = "2s,4s,8s"
    static let jwtSecret = "order-pipeline-tests-signing-key-0123456789"

    let id: String
    let apiURL: URL
    let database: PostgresPool
    /// The fleet's own mock cluster; `nil` in interop mode.
    let cluster: KafkaMockCluster?
    /// Where the fleet's Kafka is: the mock cluster's or the external broker's addresses.
    let kafkaBootstrap: String
    let environment: [String: String]
    let logDirectory: URL
    let mail: MailCollector
    let smtp: SMTPCatcher
    private let processes: Mutex<[String: ChildProcess]>

    static let binary = repositoryRoot.appendingPathComponent(".build/debug/emporium").path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var logger: Logger {
        var logger = Logger(label: "order-pipeline-tests")
        logger.logLevel = .critical
        return logger
    }

    /// The one fleet of this test process.
    static let shared = SharedFleet()

    private init(
        id: String, apiURL: URL, database: PostgresPool, cluster: KafkaMockCluster?, kafkaBootstrap: String, environment: [String: String],
        logDirectory: URL, mail: MailCollector, smtp: SMTPCatcher
    ) {
        self.id = id
        self.apiURL = apiURL
        self.database = database
        self.cluster = cluster
        self.kafkaBootstrap = kafkaBootstrap
        self.environment = environment
        self.logDirectory = logDirectory
        self.mail = mail
        self.smtp = smtp
        processes = Mutex([:])
    }

    static func start() async throws -> PipelineFleet {
        let id = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        let base = ProcessInfo.processInfo.environment
        let primary = try PostgresConfiguration(url: base["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium")
        let replicaURL = base["POSTGRES_REPLICA_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5433/emporium"
        try await createDatabase(id, on: primary)

        // The project's topics (the one list in Contracts), with half the partitions: fewer threads.
        let topics = Destinations.kafkaTopics.flatMap { $0.scaled(down: 2).created }
        let cluster: KafkaMockCluster?
        let kafkaBootstrap: String
        if let external = InteropKafka.bootstrapServers {
            // Topic names are fixed, so a broker that an earlier fleet used still has them (and
            // their messages): `interop.sh restart` gives an empty one.
            cluster = nil
            kafkaBootstrap = external
            // The topics as a deployment gets them: `emporium topics create` (the Kubernetes Job's
            // and compose's kafka-init command), all partitions, one broker.
            try await ChildProcess.run(
                ["/bin/sh", "-c", "exec '\(binary)' topics create --replication-factor 1 --wait 30s >> '\(FileManager.default.temporaryDirectory.path)/emporium-\(id)-topics.log' 2>&1"],
                environment: ["KAFKA_BOOTSTRAP_SERVERS": external], timeout: .seconds(60))
        } else {
            let mock = try KafkaMockCluster.make(brokers: 3, logger: logger)
            for topic in topics { try mock.createTopic(topic.name, partitions: topic.partitions) }
            cluster = mock
            kafkaBootstrap = mock.bootstrapServers
        }
        let apiPort = try freeLocalPort()
        let smtpPort = try freeLocalPort()
        let logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-\(id)")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let environment: [String: String] = [
            "POSTGRES_PRIMARY_URL": swapDatabase(in: base["POSTGRES_PRIMARY_URL"] ?? "postgresql://emporium:emporium@127.0.0.1:5432/emporium", to: id),
            "POSTGRES_REPLICA_URL": swapDatabase(in: replicaURL, to: id),
            "POSTGRES_POOL_SIZE": "10",
            "KAFKA_BOOTSTRAP_SERVERS": kafkaBootstrap,
            "KAFKA_SESSION_TIMEOUT": "6s",
            "KAFKA_FETCH_WAIT_MAX": "10ms",
            "MESSAGING_NAMESPACE": id,
            "MESSAGING_DELAY_LEVELS": "250ms,500ms,1s,2s,4s",
            "MESSAGING_RETRY_INITIAL_DELAY": "100ms",
            "ORDER_REMINDER_DELAYS": reminders.map { "\($0.components.seconds)s" }.joined(separator: ","),
            "ORDER_EXPIRY_DELAY": "\(expiry.components.seconds)s",
            // The scale-out tests give one customer dozens of unpaid orders; AbuseTests checks the limits.
            "ORDER_MAX_OPEN_ORDERS": "100000",
            "ORDER_MAX_OPEN_UNITS": "100000000",
            "OUTBOX_POLL_INTERVAL": "200ms",
            "METRICS_PORT": "0",
            "API_PORT": String(apiPort),
            "EMPORIUM_MIGRATIONS_DIR": repositoryRoot.appendingPathComponent("migrations").path,
            "AUTH_JWT_SECRET": jwtSecret,
            "AUTH_CODE_TTL": "\(codeLifetime.components.seconds)s",
            "AUTH_LOGIN_MAX_FAILURES_CLIENT": "100000",
            // Every request here comes from one host: the sign-up test's reuse of a spent refresh
            // token must revoke. AuthFlowTests.refreshRace checks the grace on an API of its own.
            "AUTH_REFRESH_REUSE_GRACE": "0s",
            "AUTH_ADMIN_EMAIL": "admin@\(id).test",
            "AUTH_ADMIN_PASSWORD": "admin-password-\(id)",
            "RATE_LIMIT_AUTH": "off",
            "RATE_LIMIT_WRITE": "off",
            "RATE_LIMIT_READ": "off",
            "SMTP_URL": "smtp://127.0.0.1:\(smtpPort)",
            "SMTP_TIMEOUT": "5s",
            "MAIL_RETRY_DELAYS": mailRetryDelays,
        ]
        try await ChildProcess.run(
            ["/bin/sh", "-c", "exec '\(binary)' migrate >> '\(logDirectory.path)/migrate.log' 2>&1"], environment: environment, timeout: .seconds(60))

        var appConfiguration = primary
        appConfiguration.database = id
        let database = PostgresPool(configuration: appConfiguration, logger: logger)
        Task { try await database.run() }
        let mail = try MailCollector(queue: "\(id).mail-tap", exchange: "\(id).work")
        let smtp = SMTPCatcher(port: smtpPort, directory: logDirectory.appendingPathComponent("mail"))
        try await smtp.start()
        let fleet = PipelineFleet(
            id: id, apiURL: URL(string: "http://127.0.0.1:\(apiPort)")!, database: database, cluster: cluster, kafkaBootstrap: kafkaBootstrap,
            environment: environment, logDirectory: logDirectory, mail: mail, smtp: smtp)
        fleet.spawn("relay", ["relay"])
        fleet.spawn("worker-auth", ["worker", "auth"])
        fleet.spawn("worker-mail", ["worker", "mail"])
        for index in 1...productWorkers { fleet.spawn("worker-product-\(index)", ["worker", "product"]) }
        fleet.spawn("worker-order", ["worker", "order"])
        fleet.spawn("api", ["api"])
        // Registered before the wait: a fleet that never gets ready (a server missing, a start-up
        // refused) is stopped at exit too, instead of running on after the test process.
        shared.adopt(fleet)
        atexit { PipelineFleet.shared.terminateAtExit() }
        try await fleet.waitUntilReady()
        return fleet
    }

    /// Starts `emporium <arguments>` with its output in `<logDirectory>/<name>.log`.
    @discardableResult
    func spawn(_ name: String, _ arguments: [String], extraEnvironment: [String: String] = [:]) -> ChildProcess? {
        let command = "exec '\(Self.binary)' \(arguments.joined(separator: " ")) >> '\(logDirectory.path)/\(name).log' 2>&1"
        guard let child = try? ChildProcess(["/bin/sh", "-c", command], environment: environment.merging(extraEnvironment) { $1 }) else {
            return nil
        }
        processes.withLock { $0[name] = child }
        return child
    }

    /// Starts another `emporium api` as `name` on a port it picks itself (`API_PORT=0`: a port
    /// chosen here could be taken before the process binds it, and was), and returns a client
    /// for it once it listens, with the observability port too when `API_OBSERVABILITY_PORT` is
    /// set (also to 0).
    func spawnAPI(_ name: String, environment extra: [String: String] = [:]) async throws -> (api: APIClient, observability: APIClient?) {
        let log = logDirectory.appendingPathComponent("\(name).log")
        let skip = ((try? FileManager.default.attributesOfItem(atPath: log.path))?[.size] as? Int) ?? 0
        var extra = extra
        extra["API_PORT"] = "0"
        if extra["API_OBSERVABILITY_PORT"] != nil { extra["API_OBSERVABILITY_PORT"] = "0" }
        spawn(name, ["api"], extraEnvironment: extra)
        func port(after marker: String) -> Int? {
            guard let data = try? Data(contentsOf: log), data.count > skip else { return nil }
            let text = String(decoding: data.dropFirst(skip), as: UTF8.self)
            guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }),
                  let match = line.firstMatch(of: /127\.0\.0\.1:(\d+)/) else { return nil }
            return Int(match.1)
        }
        let wantsObservability = extra["API_OBSERVABILITY_PORT"] != nil
        var ports: (Int?, Int?) = (nil, nil)
        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            ports = (port(after: "api listening"), wantsObservability ? port(after: "metrics and health endpoints up") : nil)
            return ports.0 != nil && (!wantsObservability || ports.1 != nil)
        }
        guard up, let apiPort = ports.0 else { throw FleetFailure(description: "\(name) did not start listening; see \(log.path)") }
        func client(_ port: Int) -> APIClient { APIClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!) }
        return (client(apiPort), ports.1.map(client))
    }

    /// Starts `emporium grpc` as `name` on a free port; its port once it listens.
    func spawnGRPC(_ name: String, environment extra: [String: String] = [:]) async throws -> Int {
        let log = logDirectory.appendingPathComponent("\(name).log")
        let skip = ((try? FileManager.default.attributesOfItem(atPath: log.path))?[.size] as? Int) ?? 0
        spawn(name, ["grpc"], extraEnvironment: extra.merging(["GRPC_PORT": "0", "METRICS_PORT": "0"]) { $1 })
        var port: Int?
        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            guard let data = try? Data(contentsOf: log), data.count > skip else { return false }
            let text = String(decoding: data.dropFirst(skip), as: UTF8.self)
            port = text.split(separator: "\n").first(where: { $0.contains("grpc listening") })
                .flatMap { $0.firstMatch(of: /127\.0\.0\.1:(\d+)/) }.flatMap { Int($0.1) }
            return port != nil
        }
        guard up, let port else { throw FleetFailure(description: "\(name) did not start listening; see \(log.path)") }
        return port
    }

    /// The process started as `name`, if it was.
    func process(_ name: String) -> ChildProcess? {
        processes.withLock { $0[name] }
    }

    /// Sends `signal` to every process whose name starts with `prefix` (SIGSTOP/SIGCONT to hold
    /// a role still for a moment).
    func signalAll(_ prefix: String, _ signal: Int32) {
        for child in processes.withLock({ $0.filter { $0.key.hasPrefix(prefix) }.map(\.value) }) { child.signal(signal) }
    }

    func stop(_ name: String) async throws {
        guard let child = processes.withLock({ $0.removeValue(forKey: name) }) else { return }
        child.signal(SIGTERM)
        try await child.wait(timeout: .seconds(30))
    }

    /// SIGTERM to every process, then up to 20 s for them to drain (the Kafka mock cluster lives
    /// in this process, so it must outlive them), then SIGKILL for any still running.
    func terminateAll() {
        let children = processes.withLock { Array($0.values) }
        for child in children { child.signal(SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(20)
        var running = children
        while !running.isEmpty && ContinuousClock.now < deadline {
            running = running.filter { child in
                var status: Int32 = 0
                return waitpid(child.pid, &status, WNOHANG) == 0
            }
            if !running.isEmpty { usleep(50_000) }
        }
        for child in running { child.signal(SIGKILL) }
        smtp.terminate()
    }

    /// The API answers, the mail queue exists, and both Kafka consumer groups have partitions: a
    /// product created now reaches the order side's catalog copy.
    private func waitUntilReady() async throws {
        let api = APIClient(baseURL: apiURL)
        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await api.send("GET", "/health/ready").status) == 200
        }
        guard up else { throw FleetFailure(description: "the api did not come up; logs in \(logDirectory.path)") }
        try await mail.start()
        let sku = "READY-\(id)"
        _ = try await api.send("POST", "/products", as: .admin, body: NewProductBody(sku: sku, name: "ready", priceMinor: 1, currency: "EUR", stock: 0))
        guard try await eventually(timeout: .seconds(90), every: .milliseconds(200), { try await self.catalogCopyKnows(sku) }) else {
            throw FleetFailure(description: "the order worker never copied \(sku); logs in \(logDirectory.path)")
        }
        // Every product worker holds partitions, none revoked since. They join the group at their
        // own pace (slower while another test stops the replica), and each join is a rebalance that
        // holds the order topic's messages back for seconds: orders placed before the group had
        // settled waited up to 7.5 s for their reservation, past what this fleet's expiry (12 s then)
        // leaves the tests that act before it.
        let settled = try await eventually(timeout: .seconds(90), every: .milliseconds(200)) {
            (1...Self.productWorkers).allSatisfy { self.holdsPartitions("worker-product-\($0)") }
        }
        guard settled else { throw FleetFailure(description: "the product workers' group did not settle; logs in \(logDirectory.path)") }
    }

    /// Whether the process's log says its Kafka consumer was last assigned partitions, not revoked.
    private func holdsPartitions(_ name: String) -> Bool {
        let log = (try? String(contentsOf: logDirectory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
        guard let assigned = log.range(of: "kafka partitions assigned", options: .backwards) else { return false }
        guard let revoked = log.range(of: "kafka partitions revoked", options: .backwards) else { return true }
        return revoked.lowerBound < assigned.lowerBound
    }

    func catalogCopyKnows(_ sku: String) async throws -> Bool {
        try await !database.query("SELECT 1 FROM ordering.catalog WHERE sku = \(sku) AND NOT deleted").isEmpty
    }

    // MARK: - Set-up helpers

    private static func createDatabase(_ name: String, on primary: PostgresConfiguration) async throws {
        var admin = primary
        admin.user = "postgres"
        admin.password = nil
        admin.maximumConnections = 1
        let pool = PostgresPool(configuration: admin, logger: logger)
        let runner = Task { try await pool.run() }
        defer { pool.close(); runner.cancel() }
        // Databases of earlier runs that were not cleaned up.
        for row in try await pool.query("SELECT datname FROM pg_database WHERE datname LIKE 'e2e\\_%' AND datname <> \(name)") {
            let stale: String = try row.decode("datname")
            _ = try? await pool.execute("DROP DATABASE IF EXISTS \(unescaped: stale) WITH (FORCE)")
        }
        try await pool.execute("CREATE DATABASE \(unescaped: name) OWNER \(unescaped: primary.user)")
    }

    private static func swapDatabase(in url: String, to name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}

/// Starts the fleet on first use; every test awaits the same one.
final class SharedFleet: Sendable {
    private let task = Mutex<Task<PipelineFleet, any Error>?>(nil)
    private let started = Mutex<PipelineFleet?>(nil)

    func get() async throws -> PipelineFleet {
        let task = self.task.withLock { current in
            if let current { return current }
            let created = Task { try await PipelineFleet.start() }
            current = created
            return created
        }
        return try await task.value
    }

    /// The fleet that ``terminateAtExit()`` stops: set as soon as its processes are spawned.
    func adopt(_ fleet: PipelineFleet) {
        started.withLock { $0 = fleet }
    }

    func terminateAtExit() {
        started.withLock { $0 }?.terminateAll()
    }
}
