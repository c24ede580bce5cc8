import ConnectionPool
import Foundation
import Messaging

/// Reads settings from the process environment; every failure names the key.
struct Environment: Sendable {
    let values: [String: String]

    init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    func string(_ key: String, default defaultValue: String) -> String {
        assert(ConfigurationKeys.names.contains(key), "\(key) is missing from ConfigurationKeys.all")
        guard let value = values[key], !value.isEmpty else { return defaultValue }
        return value
    }

    func optionalString(_ key: String) -> String? {
        assert(ConfigurationKeys.names.contains(key), "\(key) is missing from ConfigurationKeys.all")
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    func integer(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = optionalString(key) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(key: key, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// A duration in milliseconds.
    func milliseconds(_ key: String, default defaultValue: Duration) throws -> Duration {
        guard let text = optionalString(key) else { return defaultValue }
        guard let value = Int(text), value >= 0 else {
            throw ConfigurationError(key: key, message: "expected a number of milliseconds, got \"\(text)\"")
        }
        return .milliseconds(value)
    }
}

extension Environment {
    /// A duration written as `250ms`, `5s`, `2m`, `4h`, `1h30m`, or a bare number of milliseconds.
    func duration(_ key: String, default defaultValue: Duration) throws -> Duration {
        guard let text = optionalString(key) else { return defaultValue }
        guard let value = AMQPDelays.parseDuration(text) else {
            throw ConfigurationError(key: key, message: "expected a duration such as 500ms, 5s, 4h or 1h30m, got \"\(text)\"")
        }
        return value
    }

    /// A comma-separated list of durations.
    func durations(_ key: String, default defaultValue: [Duration]) throws -> [Duration] {
        guard let text = optionalString(key) else { return defaultValue }
        guard let value = AMQPDelays.parseLevels(text) else {
            throw ConfigurationError(key: key, message: "expected comma-separated durations such as 1s,30s,4h, got \"\(text)\"")
        }
        return value
    }

    /// Runs `make` and turns a wrapper's configuration error into one that names `key`.
    func parse<T>(_ key: String, default defaultValue: String, _ make: (String) throws -> T) throws -> T {
        let text = string(key, default: defaultValue)
        do {
            return try make(text)
        } catch {
            // Wrappers name the key themselves; keep only what follows it.
            let description = "\(error)"
            let message = description.range(of: "\(key): ", options: .backwards).map { String(description[$0.upperBound...]) }
            throw ConfigurationError(key: key, message: message ?? description)
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
