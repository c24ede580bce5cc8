import Foundation

/// What `emporium loadtest` found; `--json` prints it as one object.
struct LoadtestReport: Encodable, Sendable {
    var url: String
    var skuPrefix: String
    var clients: Int
    /// Orders per second offered (`--rate`); `nil` when sent as fast as answered.
    var offeredRate: Double?
    var products: Int
    var maximumLines: Int
    /// Orders whose POST went out, and those answered 201.
    var sent: Int
    var accepted: Int
    /// The sending phase, from the first POST to the last answer.
    var durationSeconds: Double
    /// accepted / durationSeconds.
    var ordersPerSecond: Double
    /// Paced runs: the rate the orders were sent at, accepted / (the last accepted POST's send
    /// time + one interval). On schedule it is the offered rate; clients that fall behind (each
    /// waits for its POST's answer) make it lower. Unlike `ordersPerSecond` it does not count
    /// the last answer's round trip, which weighs on a short run.
    var sentPerSecond: Double?
    /// Orders taken all the way to their stock decision per second: accepted / (the last
    /// `stockDecidedAt` - the sending phase's start); `nil` if any order was left undecided.
    /// The pipeline's throughput, comparable with pgbench running every transaction of an order:
    /// `ordersPerSecond` counts only the API's part, and at full speed the decisions fall behind
    /// the answers, so that work lands after the sending phase it was measured over.
    var decidedPerSecond: Double?
    /// The sending phase's start and the last stock decision seen (the server's time), as
    /// RFC 3339 instants: the window `decidedPerSecond` divides by.
    var startedAt: String
    var lastDecidedAt: String?
    /// Failed POSTs by kind: `HTTP <status>` or a transport error's kind.
    var errors: [String: Int]
    /// Accepted orders by the stock decision seen; `unresolved` were still awaiting at the timeout.
    var reserved: Int
    var rejected: Int
    var unresolved: Int
    /// From sending the POST to the order's `stockDecidedAt`, over the decided orders.
    var latencyMs: Percentiles?
    /// The POST's own round trip, over the accepted orders.
    var postLatencyMs: Percentiles?
    /// Failed polls (GET /orders/{id}) by kind; the order was polled again.
    var pollErrors: [String: Int]

    struct Percentiles: Encodable, Sendable {
        var p50: Double
        var p95: Double
        var p99: Double
        var max: Double
        var mean: Double

        /// Nearest-rank percentiles; `nil` without samples.
        init?(_ samples: [Double]) {
            guard !samples.isEmpty else { return nil }
            let sorted = samples.sorted()
            func rank(_ fraction: Double) -> Double {
                let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
                return Self.rounded(sorted[Swift.min(Swift.max(index, 0), sorted.count - 1)])
            }
            p50 = rank(0.50)
            p95 = rank(0.95)
            p99 = rank(0.99)
            max = Self.rounded(sorted[sorted.count - 1])
            mean = Self.rounded(sorted.reduce(0, +) / Double(sorted.count))
        }

        private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }

        var text: String { "p50 \(p50) ms, p95 \(p95) ms, p99 \(p99) ms, max \(max) ms (mean \(mean) ms)" }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        func kinds(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "none" : counts.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        }
        return """
            emporium loadtest against \(url): \(clients) clients, \(products) products (\(skuPrefix)-*), 1 to \(maximumLines) lines per order
            \(offeredRate.map { "offered \(String(format: "%.1f", $0)) orders/s; " } ?? "")sent \(sent), accepted \(accepted) in \(String(format: "%.2f", durationSeconds)) s: \(String(format: "%.1f", ordersPerSecond)) orders/s
            decided: \(decidedPerSecond.map { String(format: "%.1f orders/s from the first POST to the last decision", $0) } ?? "not all orders")
            errors: \(kinds(errors))
            stock decisions: \(reserved) reserved, \(rejected) rejected, \(unresolved) still awaiting at the timeout
            POST -> stock decided: \(latencyMs?.text ?? "no samples")
            POST round trip: \(postLatencyMs?.text ?? "no samples")
            poll errors: \(kinds(pollErrors))
            """
    }
}

/// A load test that cannot go on (the API is unreachable, products cannot be created, ...).
struct LoadtestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
