import EmporiumTestSupport
import Foundation
import Postgres
import Testing

/// `emporium loadtest` against the fleet. `--find-capacity`, with rates the fleet keeps up with
/// easily: a bound every probe meets finds the maximum after doubling from the start; a bound no
/// order can meet (a decision crosses Kafka twice) fails the first probe and reports no capacity.
/// And the throughput it reports for the whole pipeline counts orders up to their decision.
@Suite("Load test: capacity search", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct LoadtestCapacityTests {
    struct Report: Decodable {
        struct Probe: Decodable {
            var offered: Double
            var achieved: Double
            var p99Ms: Double?
            var passed: Bool
        }

        var capacity: Double
        var reachedMaximum: Bool
        var probes: [Probe]
    }

    /// `emporium loadtest --json` with `arguments` against the fleet; its report.
    func loadtest(_ fleet: PipelineFleet, _ arguments: String) async throws -> String {
        let environment = fleet.environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        return try await ChildProcess.shell(
            "env \(environment) '\(PipelineFleet.binary)' loadtest --url '\(fleet.apiURL.absoluteString)' --json \(arguments) 2>/dev/null",
            timeout: .seconds(300))
    }

    /// 32 clients: each sends one POST at a time, so 16 fell short of 6 orders a second (and the
    /// probe failed) once a loaded machine's POST took over 2.7 s.
    func search(_ fleet: PipelineFleet, bound: String, maximum: Double = 8, doublings: Int = 2) async throws -> Report {
        let output = try await loadtest(
            fleet,
            "--find-capacity --clients 32 --products 3 --start-rate 2 --max-rate \(maximum) --doublings \(doublings) --step-duration 3s --latency-bound \(bound) --decision-timeout 60s")
        return try JSONDecoder().decode(Report.self, from: Data(output.utf8))
    }

    @Test("a bound every probe meets: the rate doubles from the start, then grows by a quarter, up to the maximum, and the capacity is the maximum")
    func reachesTheMaximum() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let report = try await search(fleet, bound: "60s", maximum: 6, doublings: 1)
        // One doubling (2 -> 4), then a quarter more each (5, then 6.3 capped at the maximum).
        #expect(report.probes.map(\.offered) == [2, 4, 5, 6])
        #expect(report.probes.allSatisfy { $0.passed }, "\(report.probes)")
        #expect(report.reachedMaximum)
        #expect(report.capacity == 6)
    }

    @Test("a bound no order meets: the first probe fails and there is no capacity")
    func failsTheFirstProbe() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let report = try await search(fleet, bound: "1ms")
        #expect(report.probes.count == 1)
        #expect(report.probes.first?.passed == false)
        #expect((report.probes.first?.p99Ms ?? 0) > 1, "\(report.probes)")
        #expect(report.capacity == 0)
        #expect(!report.reachedMaximum)
    }

    struct RunReport: Decodable {
        var skuPrefix: String
        var accepted: Int
        var unresolved: Int
        var decidedPerSecond: Double?
    }

    @Test("orders decided per second span the sending phase and the decisions after it, as the database saw them")
    func decidedPerSecondCountsTheDecisions() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let output = try await loadtest(fleet, "--clients 4 --products 3 --orders 40 --decision-timeout 60s")
        let report = try JSONDecoder().decode(RunReport.self, from: Data(output.utf8))
        try #require(report.accepted == 40 && report.unresolved == 0, "\(output)")
        let decided = try #require(report.decidedPerSecond, "no decidedPerSecond in \(output)")
        // The run's orders as the database has them (its customers'; the load test's probe for the
        // catalog copy came before the sending phase): from the first one's creation to the last
        // stock decision. The load test's window starts before the first POST went out, so it is
        // at least that long, and longer by no more than that POST's time (well under 5 s).
        let span: Double = try await fleet.database.query("""
            SELECT extract(epoch FROM max(stock_decided_at) - min(created_at))::float8 FROM ordering.orders
            WHERE customer_id LIKE \(report.skuPrefix + "-c%")
            """).single().decode(at: 0)
        let window = Double(report.accepted) / decided
        #expect(window >= span, "window \(window) s, database span \(span) s: \(output)")
        #expect(window < span + 5, "window \(window) s, database span \(span) s: \(output)")
    }
}
