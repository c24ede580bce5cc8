import Foundation

/// What a chaos run prints (and writes as JSON with `--report`): the seed to repeat it, the load,
/// the faults by kind, and each invariant with PASS or its offending ids.
struct ChaosReport: Sendable, Encodable {
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
    /// The round trip of each POST /orders answered with an order (the last try of its key).
    var orderLatencyMs: LoadtestReport.Percentiles?
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
            "  POST /orders      " + (orderLatencyMs?.text ?? "no answers"),
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
}
