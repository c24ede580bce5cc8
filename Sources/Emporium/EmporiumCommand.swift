import ArgumentParser

/// The one executable: every role and tool is a subcommand.
@main
struct EmporiumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium",
        abstract: "Emporium: an event-driven commerce backend.",
        subcommands: [
            APICommand.self, WorkerCommand.self, RelayCommand.self, MigrateCommand.self, ReplayCommand.self, LoadtestCommand.self, DevCommand.self,
            ConfigCommand.self,
        ]
    )
}
