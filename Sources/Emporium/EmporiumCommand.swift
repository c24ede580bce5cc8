import ArgumentParser
import Observability

/// The one executable: every role and tool is a subcommand.
@main
struct EmporiumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium",
        abstract: "Emporium: an event-driven commerce backend.",
        subcommands: [
            APICommand.self, WorkerCommand.self, RelayCommand.self, MigrateCommand.self, ReplayCommand.self, LoadtestCommand.self, DevCommand.self,
            ConfigCommand.self, SeedCommand.self, TopicsCommand.self, ChaosCommand.self, OpenAPICommand.self, GraphQLCommand.self, GRPCServeCommand.self,
        ]
    )

    /// malloc's arenas are limited first (``MallocArenas``), then logging is set up (`LOG_FORMAT`,
    /// `LOG_LEVEL`), then span export if configured (`OTEL_EXPORTER_OTLP_ENDPOINT`), then the
    /// subcommand runs.
    static func main() async {
        MallocArenas.limit()
        LogSetup.bootstrap()
        do {
            // The role names the service: emporium-api, emporium-worker-order, ...
            let role = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.prefix(2)
            try TraceExport.bootstrap(serviceName: (["emporium"] + role).joined(separator: "-"))
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
