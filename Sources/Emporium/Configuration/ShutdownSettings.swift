import DomainRuntime
import Logging
import Observability
import ServiceLifecycle
import UnixSignals

/// How a role stops (`SHUTDOWN_TIMEOUT` of ``ProcessKeys``): after SIGTERM or SIGINT a role stops
/// taking work and finishes what it holds; past the timeout its remaining services are cancelled,
/// and 5 s later the process exits whatever is still blocked (a Kafka client waiting for brokers
/// that are gone).
struct ShutdownSettings: Sendable {
    var timeout: Duration

    init(settings reader: SettingsReader) throws {
        timeout = try reader.value(ProcessKeys().shutdownTimeout)
    }

    /// A service group that stops on SIGTERM or SIGINT within the timeout. The span exporter, when
    /// configured, runs first and so stops last, flushing the spans of the shutdown too.
    func group(_ services: [any Service], logger: Logger) -> ServiceGroup {
        let all = (TraceExport.service.map { [$0] } ?? []) + services
        var configuration = ServiceGroupConfiguration(services: all, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}
