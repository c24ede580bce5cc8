import Auth
import DomainRuntime
import Mailing
import Ordering
import ArgumentParser
import Foundation

/// `emporium config keys`: every key the binary reads, with its default and meaning;
/// `emporium config docs`: the reference's tables (docs/configuration.md), written from the same
/// declarations.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show what can be configured.", subcommands: [Keys.self, Check.self, Docs.self])

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys", abstract: "List every key the binary reads (name, default, meaning; tab-separated).")

        @Flag(help: "Names only, one per line.")
        var namesOnly = false

        func run() async throws {
            for key in ConfigurationKeys.all {
                print(namesOnly ? key.name : "\(key.name)\t\(key.defaultText)\t\(key.meaning)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Read every setting as the roles do, without connecting anywhere: the first wrong one stops it with the key's name; "
                + "else each key that is set, and where from (never its value).")

        @Flag(help: "Also require what the API needs (AUTH_JWT_SECRET).")
        var api = false

        func run() async throws {
            let environment = try SettingsReader()
            try environment.refusePlaceholderSecrets()
            _ = try DatabaseSettings(settings: environment)
            let messaging = try MessagingSettings(settings: environment)
            _ = try ShutdownSettings(settings: environment)
            _ = try APISettings(settings: environment)
            _ = try OrderSettings(settings: environment)
            _ = try MailSettings(settings: environment)
            _ = try AuthSettings(settings: environment, namespace: messaging.namespace)
            if api { _ = try AuthSettings.tokens(settings: environment) }
            for key in ConfigurationKeys.all {
                if let source = environment.source(of: key) { print("\(key.name)\t\(source)") }
            }
            print("configuration ok")
        }
    }

    struct Docs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "docs",
            abstract: "Rewrite the key tables of a Markdown file (between <!-- keys: SECTION --> and <!-- /keys -->).")

        @Argument(help: "The Markdown file, e.g. docs/configuration.md.")
        var file: String

        @Flag(help: "Change nothing; fail when a table differs from the declarations.")
        var check = false

        func run() async throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let updated = try ReferenceTables.rewrite(text)
            if updated == text { return }
            if check {
                throw ReferenceTables.Problem("\(file) differs from the declared keys: run `emporium config docs \(file)`")
            }
            try updated.write(toFile: file, atomically: true, encoding: .utf8)
        }
    }
}

/// The Markdown tables of docs/configuration.md, one per ``SettingGroup``.
enum ReferenceTables {
    static let open = "<!-- keys: "
    static let close = "<!-- /keys -->"

    /// A file whose tables cannot be written or are stale (exit status 1).
    struct Problem: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// `text` with each marked block replaced by its group's table; every group must have a block.
    static func rewrite(_ text: String) throws -> String {
        var output = ""
        var rest = Substring(text)
        var seen: Set<String> = []
        while let start = rest.range(of: open) {
            guard let titleEnd = rest[start.upperBound...].range(of: " -->"),
                let end = rest[titleEnd.upperBound...].range(of: close)
            else { throw Problem("an unclosed \(open)... block") }
            let title = String(rest[start.upperBound..<titleEnd.lowerBound])
            guard let group = ConfigurationKeys.groups.first(where: { $0.title == title }) else {
                throw Problem("no group of keys is titled \"\(title)\"")
            }
            seen.insert(title)
            output += rest[..<titleEnd.upperBound] + "\n" + table(group) + close
            rest = rest[end.upperBound...]
        }
        let missing = ConfigurationKeys.groups.map(\.title).filter { !seen.contains($0) }
        guard missing.isEmpty else { throw Problem("no \(open)... block for: \(missing.joined(separator: ", "))") }
        return output + rest
    }

    static func table(_ group: any SettingGroup) -> String {
        var lines = ["| key | default | meaning |", "| --- | --- | --- |"]
        for key in group.declarations {
            let name = "`\(key.name)`" + (key.secrecy == .none ? "" : " (secret)")
            let shown = key.defaultText.hasPrefix("(") ? String(key.defaultText.dropFirst().dropLast()) : "`\(key.defaultText)`"
            lines.append("| \(name) | \(cell(shown)) | \(cell(key.meaning)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}
