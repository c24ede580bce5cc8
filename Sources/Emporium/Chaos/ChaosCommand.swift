import AMQP
import ArgumentParser
import Auth
import ConnectionPool
import Foundation
import Messaging
import UnixSignals

/// `emporium chaos`: the whole fleet, scaled out, under random faults, then the invariants.
/// See ``ChaosRun`` for the phases and docs/chaos.md for how to read a report.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Run a scaled fleet under load and random faults, then check that nothing was lost or duplicated.",
        discussion: """
            Needs the local services (make services-up; eval "$(deploy/local/services.sh env)") and is run \
            from the repository (it calls deploy/local/services.sh to restart RabbitMQ, Postgres and Redis, \
            which disturbs anything else using them). Starts its own fleet on its own database, RabbitMQ \
            namespace and Kafka mock cluster; prints each fault on stderr and the report on stdout; exits 1 \
            if an invariant fails. The seed fixes the fault plan and the load's choices.
            """
    )

    @Option(help: "Seed of the fault plan and the load (default: random; the report prints it).")
    var seed: UInt64?

    @Option(help: "How long the load and the faults run, e.g. 2m or 30m.")
    var duration = "10m"

    @Flag(help: "One fault of each kind, spread over the run (the CI run), instead of random faults every 6-18 s.")
    var eachKindOnce = false

    @Option(help: "Concurrent clients.")
    var clients = 12

    @Option(help: "Customer accounts (verified, with addresses), shared out among the clients.")
    var customers = 48

    @Option(help: "Products in the catalog: few, so stock runs out.")
    var products = 6

    @Option(help: "Units of each product at the start.")
    var stock = 250

    @Option(help: "How long to wait for the fleet to drain once the load stops, e.g. 4m.")
    var drainTimeout = "4m"

    @Option(help: "Write the report as JSON to this file too.")
    var report: String?

    @Option(help: "The services script (it must know primary-stop/start, replica-stop/start, redis-stop/start, rabbitmq-restart).")
    var servicesScript = "deploy/local/services.sh"

    @Option(help: "The Python with aiosmtpd, for the run's own SMTP catcher.")
    var python = ".local/venv/bin/python"

    @Option(help: "The SMTP catcher script.")
    var smtpCatcher = "deploy/local/smtp_catcher.py"

    @Option(help: "The migrations folder.")
    var migrations = "migrations"

    @Option(help: "Where the processes' logs go (default .local/chaos/<run id>).")
    var logDirectory: String?

    @Flag(help: "Keep the run's database even when every invariant holds (it is always kept on a failure).")
    var keepDatabase = false

    func validate() throws {
        guard let load = AMQPDelays.parseDuration(duration), load >= .seconds(30) else {
            throw ValidationError("--duration: at least 30s, e.g. 2m or 30m; got \"\(duration)\"")
        }
        guard AMQPDelays.parseDuration(drainTimeout) != nil else { throw ValidationError("--drain-timeout: a duration such as 4m") }
        guard clients >= 1, customers >= clients else { throw ValidationError("--customers must be at least --clients (each client has its own)") }
        guard (1...50).contains(products), stock >= 1 else { throw ValidationError("--products: 1 to 50; --stock: at least 1") }
        for (option, path) in [("--services-script", servicesScript), ("--python", python), ("--smtp-catcher", smtpCatcher), ("--migrations", migrations)]
        where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(option): \(path) does not exist (run from the repository after make install)")
        }
    }

    func run() async throws {
        let seed = seed ?? UInt64.random(in: 1...UInt64(Int64.max))
        let options = ChaosRun.Options(
            seed: seed, load: AMQPDelays.parseDuration(duration)!, eachKindOnce: eachKindOnce, clients: clients, customers: customers,
            products: products, stock: stock, drainTimeout: AMQPDelays.parseDuration(drainTimeout)!, servicesScript: absolute(servicesScript),
            python: absolute(python), smtpCatcher: absolute(smtpCatcher), migrations: absolute(migrations), logDirectory: logDirectory.map(absolute),
            keepDatabase: keepDatabase)
        // Ctrl-C or SIGTERM ends the run early, but not the machine's services: the run restores
        // what it stopped and stops its fleet before it exits.
        let run = Task { try await ChaosRun(options: options, environment: ProcessInfo.processInfo.environment).run() }
        let signals = Task {
            for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                FileHandle.standardError.write(Data("[chaos] \(signal): stopping the run, restoring the services\n".utf8))
                run.cancel()
                return
            }
        }
        defer { signals.cancel() }
        let result = try await run.value
        print(result.text)
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(result).write(to: URL(fileURLWithPath: report))
        }
        if !result.passed { throw ExitCode(1) }
    }

    private func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }
}
