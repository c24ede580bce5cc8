public import Foundation
import OTel
public import ServiceLifecycle
import Synchronization

/// Span export over OTLP/HTTP (swift-otel behind swift-distributed-tracing), on when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; the other
/// standard `OTEL_*` variables (service name, sampler, headers, protocol) apply as the OpenTelemetry
/// specification says. Off, the tracer is the no-op one: traceparents are still carried through
/// HTTP and both brokers (``TracePropagation``), only no spans are recorded. Metrics stay on
/// Prometheus and logs on the log handler; swift-otel exports only traces here.
public enum TraceExport {
    private static let started = Mutex<(any Service)?>(nil)

    /// Bootstraps tracing once per process (`serviceName` unless `OTEL_SERVICE_NAME` says
    /// otherwise); returns the exporter's service, to run with the role's others, or `nil`.
    @discardableResult
    public static func bootstrap(serviceName: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (any Service)? {
        let configured = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains { !(environment[$0] ?? "").isEmpty }
        guard configured else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.propagators = [.traceContext]
        let service = try OTel.bootstrap(configuration: configuration, environment: environment)
        started.withLock { $0 = service }
        return service
    }

    /// The exporter's service if tracing was bootstrapped: run it in the role's service group so
    /// spans are flushed at shutdown.
    public static var service: (any Service)? { started.withLock { $0 } }
}
