import Configuration
import ConnectionPool
import Foundation

/// Reads the declared settings (``ConfigurationKeys``) once at start, through swift-configuration:
/// the process environment first, then, when `EMPORIUM_SECRETS_DIR` names a folder, one file per
/// key in it (``SecretFiles``: how Kubernetes and compose mount secrets). Every failure names the
/// key; a secret's value never appears in an error, and is marked secret for the library's access
/// log (`CONFIG_ACCESS_LOG_FILE`), which then redacts it.
struct Environment: Sendable {
    private let reader: ConfigReader
    /// The keys given as files, and the folder they are in.
    private let files: (folder: String, keys: Set<String>)?

    init(_ variables: [String: String] = ProcessInfo.processInfo.environment) throws {
        let secret = Set(ConfigurationKeys.all.filter { $0.secrecy != .none }.map(\.name))
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: variables, secretsSpecifier: .specific(secret))
        ]
        let folderKey = ProcessKeys().secretsFolder.name
        var files: (folder: String, keys: Set<String>)?
        if let folder = variables[folderKey], !folder.isEmpty {
            let given = try SecretFiles.read(folder, key: folderKey)
            // One source per key: which of two differing values wins is not something to guess.
            if let both = given.keys.sorted().first(where: { !(variables[$0] ?? "").isEmpty }) {
                throw ConfigurationError(key: both, message: "set both in the environment and as a file in \(folderKey) (\(folder)): keep one")
            }
            providers.append(InMemoryProvider(
                name: "files in \(folder)",
                values: Dictionary(uniqueKeysWithValues: given.map { (AbsoluteConfigKey([$0.key]), ConfigValue(.string($0.value), isSecret: true)) })))
            files = (folder, Set(given.keys))
        }
        reader = ConfigReader(providers: providers)
        self.files = files
    }

    /// Where a key's value comes from, for `emporium config check`: nil when unset.
    func source(of setting: any SettingDeclaration) -> String? {
        guard isSet(setting) else { return nil }
        if let files, files.keys.contains(setting.name) { return "file in \(files.folder)" }
        return "environment"
    }

    /// The key's text as given, or nil when it is unset or empty.
    func text(_ setting: any SettingDeclaration) -> String? {
        assert(ConfigurationKeys.names.contains(setting.name), "\(setting.name) is missing from ConfigurationKeys.groups")
        guard let text = reader.string(forKey: ConfigKey([setting.name]), isSecret: setting.secrecy != .none), !text.isEmpty else { return nil }
        return text
    }

    /// Whether the key was given at all.
    func isSet(_ setting: any SettingDeclaration) -> Bool { text(setting) != nil }

    /// The key's value: its default when unset, else its text parsed and checked.
    func value<Value>(_ setting: Setting<Value>) throws -> Value {
        guard let text = text(setting) else { return setting.defaultValue }
        return try Self.naming(setting, text: text) { try setting.parse(text) }
    }

    /// The key's text (or default) made into a value by `make`, whose error names the key.
    func parse<T>(_ setting: Setting<String>, _ make: (String) throws -> T) throws -> T {
        let text = try value(setting)
        return try Self.naming(setting, text: text) { try make(text) }
    }

    /// Runs `body`, turning what it throws into a ``ConfigurationError`` that names the key once
    /// and quotes the text only where the key is not secret.
    private static func naming<T>(_ setting: any SettingDeclaration, text: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let problem as SettingProblem {
            let shown = problem.quotesValue && setting.secrecy == .none ? "\(problem.message), got \"\(text)\"" : problem.message
            throw ConfigurationError(key: setting.name, message: shown)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            // Wrappers name the key themselves; keep only what follows it.
            let description = "\(error)"
            let message = description.range(of: "\(setting.name): ", options: .backwards).map { String(description[$0.upperBound...]) }
            throw ConfigurationError(key: setting.name, message: message ?? description)
        }
    }
}

/// A configuration value that stops start-up; the message names the key, and any URL in it is
/// shown without its password.
struct ConfigurationError: Error, CustomStringConvertible {
    let key: String
    let message: String

    init(key: String, message: String) {
        self.key = key
        self.message = CredentialRedaction.redact(message)
    }

    var description: String { "configuration error: \(key): \(message)" }
}
