import DomainRuntime
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

    @Option(help: "Instead of orders: request a product page (the product and the caller's cart, with stock) over this API, graphql (one POST /graphql), grpc (one GetProductPage) or rest (GET /products/{sku}, GET /cart), for --duration (default 10s).")
    var page: String?

    @Option(help: "Instead of orders: look up the stock of 10 SKUs over this API, grpc (one GetStock) or rest (GET /products/{sku} each), for --duration (default 10s).")
    var stock: String?

    @Option(help: "With --page grpc or --stock grpc: emporium grpc's host:port.")
    var grpcTarget = "127.0.0.1:50051"

    @Flag(help: "Search the highest paced rate at which p99 POST -> stock decided stays within --latency-bound for --step-duration.")
    var findCapacity = false

    @Option(help: "With --find-capacity: the p99 bound, e.g. 250ms.")
    var latencyBound = "250ms"

    @Option(help: "With --find-capacity: how long each probed rate is offered, e.g. 20s.")
    var stepDuration = "20s"

    @Option(help: "With --find-capacity: the first rate probed (orders per second); it doubles for --doublings probes, then grows by a quarter until a probe fails.")
    var startRate = 20.0

    @Option(help: "With --find-capacity: how many probes after the first double the rate (later ones add a quarter).")
    var doublings = 2

    @Option(help: "With --find-capacity: the highest rate probed.")
    var maxRate = 5000.0

    @Option(help: "With --find-capacity: stop when the interval between a passing and a failing rate is narrower than this share.")
    var precision = 0.1

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
        if let page {
            guard PageLoad.API(rawValue: page) != nil else { throw ValidationError("--page: graphql, grpc or rest, got \"\(page)\"") }
            guard !findCapacity, rate == nil, stock == nil else { throw ValidationError("--page: as fast as answered; drop --rate, --stock and --find-capacity") }
        }
        if let stock {
            guard let api = PageLoad.API(rawValue: stock), api != .graphql else { throw ValidationError("--stock: grpc or rest, got \"\(stock)\"") }
            guard !findCapacity, rate == nil else { throw ValidationError("--stock: as fast as answered; drop --rate and --find-capacity") }
        }
        guard grpcTarget.split(separator: ":").count == 2, let port = Int(grpcTarget.split(separator: ":")[1]), (1...65535).contains(port) else {
            throw ValidationError("--grpc-target: host:port, got \"\(grpcTarget)\"")
        }
        if findCapacity {
            guard rate == nil, duration == nil else { throw ValidationError("--find-capacity: chooses the rates and durations itself; drop --rate and --duration") }
            guard (AMQPDelays.parseDuration(latencyBound) ?? .zero) > .zero else {
                throw ValidationError("--latency-bound: expected a duration such as 250ms, got \"\(latencyBound)\"")
            }
            guard (AMQPDelays.parseDuration(stepDuration) ?? .zero) >= .seconds(1) else {
                throw ValidationError("--step-duration: at least 1s, got \"\(stepDuration)\"")
            }
            guard startRate > 0, maxRate >= startRate, maxRate <= 100_000 else { throw ValidationError("--start-rate, --max-rate: 0 < start <= max <= 100000") }
            guard precision > 0, precision < 1 else { throw ValidationError("--precision: between 0 and 1") }
            guard doublings >= 0 else { throw ValidationError("--doublings: 0 or more") }
        }
    }

    func run() async throws {
        let options = Loadtest.Options(
            endpoint: try HTTPEndpoint(url: url), clients: clients, orders: orders, duration: duration.flatMap(AMQPDelays.parseDuration),
            rate: rate, products: products, maximumLines: lines, decisionTimeout: AMQPDelays.parseDuration(decisionTimeout) ?? .seconds(120),
            tokens: await AccessTokens(settings: try AuthSettings.tokens(settings: try SettingsReader())))
        // One event-loop thread is plenty for a few dozen connections, and leaves the cores to the fleet.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        if let api = (page ?? stock).flatMap(PageLoad.API.init(rawValue:)) {
            let target = grpcTarget.split(separator: ":")
            let outcome: Result<PageLoad.Report, any Error>
            do {
                outcome = .success(try await PageLoad(
                    api: api, lookup: page != nil ? .productPage : .stock, endpoint: options.endpoint,
                    grpcTarget: (String(target[0]), Int(target[1]) ?? 50051), clients: clients,
                    duration: duration.flatMap(AMQPDelays.parseDuration) ?? .seconds(10), tokens: options.tokens, group: group).run())
            } catch { outcome = .failure(error) }
            try? await group.shutdownGracefully()
            let report = try outcome.get()
            print(json ? String(decoding: try JSONEncoder().encode(report), as: UTF8.self) : report.text)
            return
        }
        if findCapacity {
            let outcome: Result<CapacityReport, any Error>
            do { outcome = .success(try await searchCapacity(options, group: group)) } catch { outcome = .failure(error) }
            try? await group.shutdownGracefully()
            let report = try outcome.get()
            print(json ? try report.json() : report.text)
            return
        }
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

    /// `--find-capacity`: probes paced rates (see ``CapacitySearch``), a line per probe on stderr.
    private func searchCapacity(_ options: Loadtest.Options, group: MultiThreadedEventLoopGroup) async throws -> CapacityReport {
        let search = CapacitySearch(
            bound: AMQPDelays.parseDuration(latencyBound) ?? .milliseconds(250), start: startRate, maximum: maxRate, precision: precision,
            doublings: doublings)
        let step = AMQPDelays.parseDuration(stepDuration) ?? .seconds(20)
        return try await search.run { rate in
            var probe = options
            probe.rate = rate
            probe.duration = step
            return search.judge(try await Loadtest(options: probe, group: group, progress: LoadtestProgress()).run(), offered: rate)
        } log: { probe in
            let p99 = probe.p99Ms.map { "\($0) ms" } ?? "-"
            let line = "find-capacity: offered \(String(format: "%.1f", probe.offered))/s, achieved \(String(format: "%.1f", probe.achieved))/s, "
                + "p99 \(p99): \(probe.passed ? "pass" : "fail")\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
