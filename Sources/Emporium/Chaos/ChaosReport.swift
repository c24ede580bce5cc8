import Foundation

/// What a chaos run prints (and writes as JSON with `--report`): the seed to repeat it, the load,
/// the faults by kind, and each invariant with PASS or its offending ids.
struct ChaosReport: Sendable, Codable {
    struct Latency: Sendable, Codable {
        var p50: Double
        var p95: Double
        var p99: Double
        var max: Double

        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            func at(_ fraction: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
            }
            p50 = at(0.50)
            p95 = at(0.95)
            p99 = at(0.99)
            max = sorted.last ?? 0
        }
    }

    var seed: UInt64
    var eachKindOnce: Bool
    var runID: String
    var startedAt: Date
    var loadSeconds: Double
    var drainSeconds: Double
    var totalSeconds: Double
    var clients: Int
    var customers: Int
    var skus: Int
    var initialStock: Int
    var ordersAccepted: Int
    var ordersPerSecond: Double
    var orderLatencyMs: Latency
    var answers: [String: Int]
    var faultsByKind: [String: Int]
    var faults: [InjectedFault]
    /// Faults that could not be carried out (a services.sh command that failed): not survived, not counted.
    var faultErrors: [String]
    var drained: Bool
    var stillMoving: [String]
    var invariants: [InvariantResult]
    var logDirectory: String

    var passed: Bool { drained && faultErrors.isEmpty && invariants.allSatisfy(\.passed) }

    var text: String {
        var lines = [
            "chaos run \(runID): \(passed ? "PASS" : "FAIL")",
            "  seed              \(seed)  (repeat: emporium chaos --seed \(seed) --duration \(Int(loadSeconds.rounded()))s\(eachKindOnce ? " --each-kind-once" : ""))",
            "  duration          load \(String(format: "%.0f", loadSeconds)) s, drain \(String(format: "%.0f", drainSeconds)) s, total \(String(format: "%.0f", totalSeconds)) s",
            "  load              \(clients) clients, \(customers) customers, \(skus) SKUs of \(initialStock) units",
            "  orders            \(ordersAccepted) accepted, \(String(format: "%.1f", ordersPerSecond))/s",
            "  POST /orders      p50 \(Self.ms(orderLatencyMs.p50))  p95 \(Self.ms(orderLatencyMs.p95))  p99 \(Self.ms(orderLatencyMs.p99))  max \(Self.ms(orderLatencyMs.max))",
            "  faults            \(faults.count): " + faultsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
        ]
        let missing = FaultKind.allCases.map(\.rawValue).filter { faultsByKind[$0] == nil }
        if !missing.isEmpty { lines.append("                    (none of: \(missing.joined(separator: ", ")))") }
        for error in faultErrors { lines.append("  FAULT NOT INJECTED \(error)") }
        lines.append("  answers           " + answers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        lines.append(drained ? "  drained           yes" : "  drained           NO, still moving: \(stillMoving.joined(separator: ", "))")
        lines.append("invariants:")
        for invariant in invariants {
            lines.append("  \(invariant.passed ? "PASS" : "FAIL")  \(invariant.name)  [\(invariant.detail)]")
            for violation in invariant.violations.prefix(20) { lines.append("        \(violation)") }
            if invariant.violations.count > 20 { lines.append("        ... and \(invariant.violations.count - 20) more") }
        }
        lines.append("logs: \(logDirectory)")
        return lines.joined(separator: "\n")
    }

    static func ms(_ value: Double) -> String { String(format: "%.0f ms", value) }
}
