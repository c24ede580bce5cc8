import Configuration
import ConnectionPool
public import Foundation

/// Reads the declared settings once at start, through swift-configuration:
/// the process environment first, then, when `EMPORIUM_SECRETS_DIR` names a folder, one file per
/// key in it (``SecretFiles``: how Kubernetes and compose mount secrets). Every failure names the
/// key; a secret's value never appears in an error, and is marked secret for the library's access
/// log (`CONFIG_ACCESS_LOG_FILE`), which then redacts it.
public struct SettingsReader: Sendable {
    private let reader: ConfigReader
    /// The keys given as files, and the folder they are in.
    private let files: (folder: String, keys: Set<String>)?

    /// Every key the process may read (the debug check, the secret files' names, the placeholder check).
    public let keys: [any SettingDeclaration]
    private let names: Set<String>

    /// `EMPORIUM_SECRETS_DIR`: the folder of files this reader reads after the environment.
    public static let secretsFolder = Setting.optionalText(
        "EMPORIUM_SECRETS_DIR", defaultText: "(none)",
        meaning: "a folder of files named after keys, each holding that key's value (a Kubernetes Secret mounted as a volume, "
            + "compose's `secrets:`); read after the environment, and a key set both ways stops start-up. See "
            + "[secrets in operations](operations.md#secrets)")

    public init(keys: [any SettingDeclaration], variables: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.keys = keys
        names = Set(keys.map(\.name))
        if names.count < keys.count, let twice = Dictionary(grouping: keys.map(\.name), by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ConfigurationError(key: twice, message: "declared twice (two groups of settings name it)")
        }
        let secret = Set(keys.filter { $0.secrecy != .none }.map(\.name))
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: variables, secretsSpecifier: .specific(secret))
        ]
        let folderKey = Self.secretsFolder.name
        var files: (folder: String, keys: Set<String>)?
        if let folder = variables[folderKey], !folder.isEmpty {
            let given = try SecretFiles.read(folder, key: folderKey, names: names)
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
    public func source(of setting: any SettingDeclaration) -> String? {
        guard isSet(setting) else { return nil }
        if let files, files.keys.contains(setting.name) { return "file in \(files.folder)" }
        return "environment"
    }

    /// The key's text as given, or nil when it is unset or empty.
    public func text(_ setting: any SettingDeclaration) -> String? {
        assert(names.contains(setting.name), "\(setting.name) is not among the keys this reader was given")
        guard let text = reader.string(forKey: ConfigKey([setting.name]), isSecret: setting.secrecy != .none), !text.isEmpty else { return nil }
        return text
    }

    /// Whether the key was given at all.
    public func isSet(_ setting: any SettingDeclaration) -> Bool { text(setting) != nil }

    /// The key's value: its default when unset, else its text parsed and checked.
    public func value<Value>(_ setting: Setting<Value>) throws -> Value {
        guard let text = text(setting) else { return setting.defaultValue }
        return try Self.naming(setting, text: text) { try setting.parse(text) }
    }

    /// The key's text (or default) made into a value by `make`, whose error names the key.
    public func parse<T>(_ setting: Setting<String>, _ make: (String) throws -> T) throws -> T {
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
public struct ConfigurationError: Error, CustomStringConvertible {
    public let key: String
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = CredentialRedaction.redact(message)
    }

    public var description: String { "configuration error: \(key): \(message)" }
}
