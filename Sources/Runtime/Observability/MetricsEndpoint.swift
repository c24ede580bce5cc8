import Hummingbird
public import Logging
import Metrics
import NIOCore
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The process's metrics registry: swift-metrics is bootstrapped once with a Prometheus factory
/// over it, so every `Counter`, `Timer` and `Gauge` of the wrappers and the runtime lands here.
public enum ProcessMetrics {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry, bootstrapping swift-metrics on the first call.
    public static var registry: PrometheusCollectorRegistry {
        bootstrapped.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            ]
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }

    /// The registry in the Prometheus text format.
    public static func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}

func addMetricsAndLiveness<Context: RequestContext>(to router: Router<Context>) {
    router.get("/metrics") { _, _ in
        let bytes = ProcessMetrics.exposition()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
    router.get("/health/live") { _, _ in HTTPResponse.Status.ok }
}

/// A small HTTP server for processes without an API of their own (workers, the relay): it serves
/// `/metrics`, `/health/live` and a `/health/ready` that runs `checks` (what the role depends
/// on: its database, its brokers, its consumers' group membership). Port 0 picks a free port
/// (logged at start).
public struct ObservabilityServer: Service {
    let application: Application<RouterResponder<BasicRequestContext>>

    public init(host: String, port: Int, logger: Logger, checks: [HealthCheck] = []) {
        _ = ProcessMetrics.registry
        let router = Router()
        addObservabilityRoutes(to: router, checks: checks, logger: logger)
        application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("metrics and health endpoints up", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }
}
