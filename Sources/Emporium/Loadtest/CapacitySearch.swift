import Foundation

/// `emporium loadtest --find-capacity`: the highest paced rate at which the pipeline keeps up,
/// found by probing. A probe offers a rate for a sustained period and passes when the orders were
/// sent and accepted at that pace (at least `keepUp` of it: `sentPerSecond`), none failed or
/// stayed undecided, and p99 from
/// POST to stock decided stayed within the bound. The rate doubles from `start` for `doublings`
/// probes, then grows by `growth` (a quarter) until a probe fails (or `maximum` passes); the
/// interval between the last pass and the first failure is then halved until it is narrower than
/// `precision` of its lower end. Each probe waits for its orders' decisions before the next
/// starts, so a failed probe's backlog does not count against the next; what an overload leaves
/// behind in the brokers does (a development Kafka's CPU per message grows with what it holds),
/// and the smaller steps keep the first failure close to the capacity: doubling all the way, a
/// probe at 320/s (p99 4.5 s) made the next ones fail at 240/s, which passed when paced alone.
struct CapacitySearch: Sendable {
    var bound: Duration
    var start: Double
    var maximum: Double
    var precision: Double
    /// Probes after the first whose rate doubles; later ones grow by `growth`.
    var doublings = 2
    var growth = 1.25
    /// The share of the offered rate a probe must achieve.
    var keepUp = 0.95

    struct Probe: Encodable, Sendable {
        var offered: Double
        var achieved: Double
        var p99Ms: Double?
        var errors: Int
        var unresolved: Int
        var passed: Bool
    }

    /// What a probe at `rate` found, judged against the bound.
    func judge(_ report: LoadtestReport, offered rate: Double) -> Probe {
        let errors = report.errors.values.reduce(0, +)
        let p99 = report.latencyMs?.p99
        let achieved = report.sentPerSecond ?? report.ordersPerSecond
        let passed = errors == 0 && report.unresolved == 0 && report.accepted > 0
            && achieved >= keepUp * rate && (p99 ?? .infinity) <= Double(bound.wholeMilliseconds)
        return Probe(offered: rate, achieved: achieved, p99Ms: p99, errors: errors, unresolved: report.unresolved, passed: passed)
    }

    /// Runs the search with `probe` (a load test at the given rate); the capacity is the highest
    /// rate that passed (0 when even `start` failed).
    func run(_ probe: (Double) async throws -> Probe, log: (Probe) -> Void = { _ in }) async throws -> CapacityReport {
        var probes: [Probe] = []
        func tried(_ rate: Double) async throws -> Bool {
            let result = try await probe(rate)
            probes.append(result)
            log(result)
            return result.passed
        }
        var passed: Double?
        var failed: Double?
        var rate = start
        while true {
            if try await tried(rate) {
                passed = rate
                if rate >= maximum { break }
                let factor = probes.count <= doublings ? 2 : growth
                // Rates are rounded to 0.1/s; at least that much more, so a tiny start cannot
                // probe one rate for ever.
                rate = min(max((rate * factor * 10).rounded() / 10, rate + 0.1), maximum)
            } else {
                failed = rate
                break
            }
        }
        if var low = passed, var high = failed {
            while (high - low) > precision * low {
                let middle = ((low + high) / 2 * 10).rounded() / 10
                if middle <= low || middle >= high { break }
                if try await tried(middle) { low = middle } else { high = middle }
            }
            passed = low
        }
        return CapacityReport(
            boundMs: Double(bound.wholeMilliseconds), capacity: passed ?? 0, reachedMaximum: failed == nil, probes: probes)
    }
}

/// What `--find-capacity` found; `--json` prints it as one object.
struct CapacityReport: Encodable, Sendable {
    var boundMs: Double
    /// Orders per second: the highest rate that passed.
    var capacity: Double
    /// Every probe up to `maximum` passed: the capacity is at least that.
    var reachedMaximum: Bool
    var probes: [CapacitySearch.Probe]

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        let rows = probes.map { probe in
            let p99 = probe.p99Ms.map { String(format: "%.0f ms", $0) } ?? "-"
            return String(format: "  offered %7.1f/s  achieved %7.1f/s", probe.offered, probe.achieved)
                + "  p99 \(p99)  errors \(probe.errors)  undecided \(probe.unresolved)  \(probe.passed ? "pass" : "FAIL")"
        }
        return (["capacity: \(String(format: "%.1f", capacity)) orders/s\(reachedMaximum ? " (or more: the maximum passed)" : "") with p99 POST -> stock decided <= \(Int(boundMs)) ms"]
            + rows).joined(separator: "\n")
    }
}
