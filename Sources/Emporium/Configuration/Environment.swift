import Foundation

/// Reads settings from the process environment; every failure names the key.
struct Environment: Sendable {
    let values: [String: String]

    init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    func string(_ key: String, default defaultValue: String) -> String {
        guard let value = values[key], !value.isEmpty else { return defaultValue }
        return value
    }

    func optionalString(_ key: String) -> String? {
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

/// A configuration value that stops start-up; the message names the key.
struct ConfigurationError: Error, CustomStringConvertible {
    let key: String
    let message: String
    var description: String { "configuration error: \(key): \(message)" }
}
