import ArgumentParser

/// `emporium dev ...`: tools for local development.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Local development tools.",
        subcommands: [DevKafkaCommand.self]
    )
}
