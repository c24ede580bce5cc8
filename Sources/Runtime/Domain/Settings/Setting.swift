import Messaging

/// One configuration key, declared once: its name, its default, how its text is parsed and
/// checked, what it means, and whether its value is a secret. The settings structs read their
/// values through it (``SettingsReader/value(_:)``); `emporium config keys`, docs/configuration.md's
/// tables, the secret checks and the deployment checks are all derived from the declarations
/// (`ConfigurationKeys` in the executable, gathered from every domain).
public struct Setting<Value: Sendable>: SettingDeclaration {
    public let name: String
    public let defaultValue: Value
    public let defaultText: String
    public let meaning: String
    public let secrecy: Secrecy
    /// Turns the key's text into a value, or says what was wrong (``SettingProblem``).
    public let parse: @Sendable (String) throws -> Value

    public init(
        _ name: String, default defaultValue: Value, defaultText: String, secrecy: Secrecy = .none, meaning: String,
        parse: @escaping @Sendable (String) throws -> Value
    ) {
        self.name = name
        self.defaultValue = defaultValue
        self.defaultText = defaultText
        self.secrecy = secrecy
        self.meaning = meaning
        self.parse = parse
    }
}

/// What the reference, the error messages and the configuration library know of a key.
public protocol SettingDeclaration: Sendable {
    var name: String { get }
    /// The default as a user writes it, or a description in parentheses (`(none)`).
    var defaultText: String { get }
    var meaning: String { get }
    var secrecy: Secrecy { get }
}

/// How much of a key's value is secret: it decides what errors and access logs may show, and
/// which values the placeholder check (``SecretGuard``) reads.
public enum Secrecy: Sendable {
    case none
    /// The whole value (a signing key, a password).
    case whole
    /// The password inside a URL's user-info.
    case urlPassword
}

/// Why a key's text was refused, without the key's name (the reader adds it).
public struct SettingProblem: Error {
    public let message: String
    /// Whether the refused text may follow the message (`, got "…"`); never for secrets.
    public let quotesValue: Bool

    /// `expected …`, followed by the text that was given.
    public static func expected(_ what: String) -> SettingProblem { SettingProblem(message: "expected \(what)", quotesValue: true) }
    /// A rule the value breaks (`must be at least 1s`).
    public static func invalid(_ message: String) -> SettingProblem { SettingProblem(message: message, quotesValue: false) }
}

// MARK: - Kinds of setting

extension Setting where Value == String {
    /// Free text; empty means the default.
    public static func text(_ name: String, default defaultValue: String, secrecy: Secrecy = .none, meaning: String) -> Setting {
        Setting(name, default: defaultValue, defaultText: defaultValue, secrecy: secrecy, meaning: meaning) { $0 }
    }
}

extension Setting where Value == String? {
    /// Free text with no default.
    public static func optionalText(_ name: String, defaultText: String = "(none)", secrecy: Secrecy = .none, meaning: String) -> Setting {
        Setting(name, default: nil, defaultText: defaultText, secrecy: secrecy, meaning: meaning) { $0 }
    }
}

extension Setting where Value == Int {
    public static func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>, meaning: String) -> Setting {
        Setting(name, default: defaultValue, defaultText: "\(defaultValue)", meaning: meaning) { try Self.integer($0, in: range) }
    }

    fileprivate static func integer(_ text: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw SettingProblem.expected("an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }
}

extension Setting where Value == Int? {
    /// An integer with no default: unset means something of its own (`defaultText` says what).
    public static func optionalInteger(_ name: String, in range: ClosedRange<Int>, defaultText: String, meaning: String) -> Setting {
        Setting(name, default: nil, defaultText: defaultText, meaning: meaning) { try Setting<Int>.integer($0, in: range) }
    }
}

extension Setting where Value == Duration {
    /// A duration written as `250ms`, `5s`, `2m`, `4h`, `7d`, `1h30m`, or a bare number of
    /// milliseconds, within bounds.
    public static func duration(
        _ name: String, default defaultValue: Duration, atLeast minimum: Duration = .zero, atMost maximum: Duration? = nil,
        because reason: String? = nil, meaning: String
    ) -> Setting {
        Setting(name, default: defaultValue, defaultText: AMQPDelays.compact(defaultValue), meaning: meaning) { text in
            guard let value = AMQPDelays.parseDuration(text) else {
                throw SettingProblem.expected("a duration such as 500ms, 5s, 4h or 1h30m")
            }
            if value < minimum {
                throw SettingProblem.invalid("must be at least \(AMQPDelays.compact(minimum))")
            }
            if let maximum, value > maximum {
                throw SettingProblem.invalid("at most \(AMQPDelays.compact(maximum))" + (reason.map { ": \($0)" } ?? ""))
            }
            return value
        }
    }

    /// A whole number of milliseconds (an older key's format).
    public static func milliseconds(_ name: String, default defaultValue: Duration, meaning: String) -> Setting {
        Setting(name, default: defaultValue, defaultText: "\(defaultValue.wholeMilliseconds)", meaning: meaning) { text in
            guard let value = Int(text), value >= 0 else { throw SettingProblem.expected("a number of milliseconds") }
            return .milliseconds(value)
        }
    }
}

extension Setting where Value == [Duration] {
    /// Comma-separated positive durations (`10s,1m,5m`).
    public static func durations(_ name: String, default defaultValue: [Duration], defaultText: String? = nil, meaning: String) -> Setting {
        Setting(
            name, default: defaultValue, defaultText: defaultText ?? defaultValue.map(AMQPDelays.compact).joined(separator: ","),
            meaning: meaning
        ) { text in
            guard let value = AMQPDelays.parseLevels(text) else {
                throw SettingProblem.expected("comma-separated durations such as 1s,30s,4h")
            }
            return value
        }
    }
}

extension Setting {
    /// A value made from text by a wrapper (a URL, a list of networks), whose default is written
    /// as text too; `make` gets the text and the key's name, for its errors.
    public static func parsed(
        _ name: String, default defaultText: String, shownAs shown: String? = nil, secrecy: Secrecy = .none, meaning: String,
        _ make: @escaping @Sendable (_ text: String, _ key: String) throws -> Value
    ) -> Setting {
        // The default is a constant of this file: a failure is a programming error, found by any test.
        let defaultValue = try! make(defaultText, name)
        return Setting(name, default: defaultValue, defaultText: shown ?? defaultText, secrecy: secrecy, meaning: meaning) { try make($0, name) }
    }

    /// One of a few words, each standing for a value.
    public static func choice(_ name: String, default defaultWord: String, _ choices: KeyValuePairs<String, Value>, meaning: String) -> Setting {
        let table = Dictionary(uniqueKeysWithValues: choices.map { ($0.key, $0.value) })
        let words = choices.map(\.key)
        let list = words.dropLast().joined(separator: ", ") + " or " + words.last!
        return Setting(name, default: table[defaultWord]!, defaultText: defaultWord, meaning: meaning) { text in
            guard let value = table[text] else { throw SettingProblem.expected(list) }
            return value
        }
    }
}
