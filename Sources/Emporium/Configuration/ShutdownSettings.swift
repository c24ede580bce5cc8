import Logging
import ServiceLifecycle
import UnixSignals

/// How a role stops.
///
/// Keys: `SHUTDOWN_TIMEOUT` (`30s`): after SIGTERM or SIGINT a role stops taking work and finishes
/// what it holds; past this time its remaining services are cancelled, and 5 s later the process
/// exits whatever is still blocked (a Kafka client waiting for brokers that are gone).
struct ShutdownSettings: Sendable {
    var timeout: Duration

    init(environment: Environment) throws {
        timeout = try environment.duration("SHUTDOWN_TIMEOUT", default: .seconds(30))
        guard timeout > .zero else { throw ConfigurationError(key: "SHUTDOWN_TIMEOUT", message: "must be positive") }
    }

    /// A service group that stops on SIGTERM or SIGINT within the timeout.
    func group(_ services: [any Service], logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}
