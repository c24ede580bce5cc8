import Foundation
public import Logging
import Synchronization
public import Hummingbird
import NIOCore

/// One dependency `/health/ready` looks at: a probe that throws (or takes longer than
/// `timeout`) when the dependency cannot be used.
public struct HealthCheck: Sendable {
    public var name: String
    public var timeout: Duration
    public var probe: @Sendable () async throws -> Void

    public init(_ name: String, timeout: Duration = .seconds(2), probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.timeout = timeout
        self.probe = probe
    }

    /// `nil` when the dependency answered in time, else what went wrong. A probe that ignores
    /// cancellation (a blocked C call) is left to finish on its own: the answer does not wait.
    func run() async -> String? {
        let verdict = Verdict()
        return await withCheckedContinuation { continuation in
            verdict.install(continuation)
            let probe = Task {
                do {
                    try await self.probe()
                    verdict.settle(nil)
                } catch {
                    verdict.settle("\(error)")
                }
            }
            Task { [timeout] in
                try? await Task.sleep(for: timeout)
                verdict.settle("no answer within \(timeout)")
                probe.cancel()
            }
        }
    }

    /// Resumes the waiting check once, with whichever of the probe and the timer comes first.
    private final class Verdict: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<String?, Never>?, settled: Bool)>((nil, false))

        func install(_ continuation: CheckedContinuation<String?, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        func settle(_ failure: String?) {
            let continuation = state.withLock { current -> CheckedContinuation<String?, Never>? in
                guard !current.settled else { return nil }
                current.settled = true
                defer { current.continuation = nil }
                return current.continuation
            }
            continuation?.resume(returning: failure)
        }
    }

    /// Every check at once: `{"status":"ready"|"not ready","checks":{"postgres":"up","kafka":"down",...}}`.
    /// What went wrong is logged, not answered: the endpoint may be reachable by anyone, and
    /// errors name hosts, users and versions.
    static func report(_ checks: [HealthCheck], logger: Logger) async -> (ready: Bool, body: [UInt8]) {
        let results = await withTaskGroup(of: (String, String?).self) { group in
            for check in checks { group.addTask { (check.name, await check.run()) } }
            var results: [String: String] = [:]
            for await (name, failure) in group {
                results[name] = failure == nil ? "up" : "down"
                if let failure { logger.warning("not ready", metadata: ["health.check": "\(name)", "error": "\(failure)"]) }
            }
            return results
        }
        let ready = results.values.allSatisfy { $0 == "up" }
        let document: [String: Any] = ["status": ready ? "ready" : "not ready", "checks": results]
        let body = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
        return (ready, body)
    }
}

/// Adds `/metrics`, `/health/live` and a `/health/ready` that runs `checks` and says which
/// dependency is down (503), as JSON. The answer is reused for `cacheFor`, and callers that
/// arrive while the checks run share that run: probes and scrapers cost the dependencies nothing.
public func addObservabilityRoutes<Context: RequestContext>(
    to router: Router<Context>, checks: [HealthCheck], cacheFor lifetime: Duration = .seconds(1),
    logger: Logger = Logger(label: "emporium.health")
) {
    addMetricsAndLiveness(to: router)
    let report = CachedHealthReport(checks: checks, lifetime: lifetime, logger: logger)
    router.get("/health/ready") { _, _ in
        let (ready, body) = await report.current()
        return Response(
            status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The last readiness report, kept for `lifetime`; at most one run of the checks at a time.
/// `/health/ready` answers from one; so does gRPC's health service.
public actor CachedHealthReport {
    public typealias Report = (ready: Bool, body: [UInt8])
    private let checks: [HealthCheck]
    private let lifetime: Duration
    private let logger: Logger
    private var last: (at: ContinuousClock.Instant, report: Report)?
    private var running: Task<Report, Never>?

    public init(checks: [HealthCheck], lifetime: Duration = .seconds(1), logger: Logger) {
        self.checks = checks
        self.lifetime = lifetime
        self.logger = logger
    }

    public func current() async -> Report {
        if let last, ContinuousClock.now - last.at < lifetime { return last.report }
        if let running { return await running.value }
        let checks = self.checks
        let run = Task { [logger] in await HealthCheck.report(checks, logger: logger) }
        running = run
        let report = await run.value
        last = (ContinuousClock.now, report)
        running = nil
        return report
    }
}
