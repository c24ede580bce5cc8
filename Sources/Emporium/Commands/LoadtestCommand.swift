import Auth
import ArgumentParser
import Foundation
import Messaging
import NIOPosix

/// `emporium loadtest`: drives a running fleet through its API and reports orders per second and
/// the time from an order's POST to its stock decision. See ``Loadtest`` for the phases.
struct LoadtestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load-test a running fleet: orders per second, and POST -> stock decided latency.",
        discussion: """
            Creates its own products (admin headers), waits until the order side knows them, then \
            sends orders from concurrent clients and waits for every accepted order's stock decision. \
            Progress goes to stderr once a second; the report to stdout.
            """
    )

    @Option(help: "The API's base URL.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "Concurrent clients, each with its own customer id and keep-alive connection.")
    var clients = 16

    @Option(help: "Orders to send in all (unless --duration is given).")
    var orders = 2000

    @Option(help: "Send orders for this long instead, e.g. 30s or 2m.")
    var duration: String?

    @Option(help: "Offer this many orders per second in all (paced), instead of as fast as the API answers.")
    var rate: Double?

    @Option(help: "Products to create for the run.")
    var products = 20

    @Option(help: "At most this many lines per order (each order has 1 to this many distinct products).")
    var lines = 3

    @Option(help: "How long to wait for the stock decisions once sending stops, e.g. 2m.")
    var decisionTimeout = "2m"

    @Flag(help: "Print the report as one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard clients >= 1 else { throw ValidationError("--clients: at least 1") }
        guard orders >= 1 else { throw ValidationError("--orders: at least 1") }
        if let rate, !(rate > 0 && rate <= 100_000) { throw ValidationError("--rate: more than 0, at most 100000") }
        guard products >= 1 else { throw ValidationError("--products: at least 1") }
        guard (1...min(products, 100)).contains(lines) else { throw ValidationError("--lines: 1 to min(--products, 100)") }
        if let duration, (AMQPDelays.parseDuration(duration) ?? .zero) <= .zero {
            throw ValidationError("--duration: expected a duration such as 30s or 2m, got \"\(duration)\"")
        }
        guard AMQPDelays.parseDuration(decisionTimeout) != nil else {
            throw ValidationError("--decision-timeout: expected a duration such as 30s or 2m, got \"\(decisionTimeout)\"")
        }
    }

    func run() async throws {
        let options = Loadtest.Options(
            endpoint: try HTTPEndpoint(url: url), clients: clients, orders: orders, duration: duration.flatMap(AMQPDelays.parseDuration),
            rate: rate, products: products, maximumLines: lines, decisionTimeout: AMQPDelays.parseDuration(decisionTimeout) ?? .seconds(120),
            tokens: await AccessTokens(settings: try AuthSettings.tokens(environment: Environment())))
        // One event-loop thread is plenty for a few dozen connections, and leaves the cores to the fleet.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let progress = LoadtestProgress()
        let result: Result<LoadtestReport, any Error>
        do {
            result = .success(try await withThrowingTaskGroup(of: LoadtestReport?.self) { tasks in
                tasks.addTask {
                    await progress.report()
                    return nil
                }
                let report = try await Loadtest(options: options, group: group, progress: progress).run()
                tasks.cancelAll()
                return report
            })
        } catch {
            result = .failure(error)
        }
        try? await group.shutdownGracefully()
        let report = try result.get()
        print(json ? try report.json() : report.text)
    }
}
