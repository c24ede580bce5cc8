import ArgumentParser

/// `emporium config keys`: every environment key the binary reads, with its default and meaning.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show what can be configured.", subcommands: [Keys.self])

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys", abstract: "List every environment key the binary reads (name, default, meaning).")

        @Flag(help: "Names only, one per line.")
        var namesOnly = false

        func run() async throws {
            for key in ConfigurationKeys.all {
                print(namesOnly ? key.name : "\(key.name)\t\(key.defaultValue)\t\(key.meaning)")
            }
        }
    }
}
