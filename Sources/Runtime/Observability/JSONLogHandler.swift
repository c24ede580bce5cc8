public import Foundation
public import Logging
import Synchronization

/// One JSON object per line on standard error: time, level, logger, message, source, and every
/// metadata value as a top-level field (`correlation.id`, `message.id`, `request.id`, ...), so a
/// log pipeline can follow one correlation id across every role.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = line(for: event, at: Date())
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// The event as one JSON line (with its newline).
    func line(for event: LogEvent, at time: Date) -> String {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var line = "{"
        line += "\"time\":\(Self.quoted(time.formatted(Self.timeStyle)))"
        line += ",\"level\":\(Self.quoted(event.level.rawValue))"
        line += ",\"logger\":\(Self.quoted(label))"
        line += ",\"message\":\(Self.quoted(event.message.description))"
        line += ",\"source\":\(Self.quoted(event.source))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !Self.reserved.contains(key) {
            line += ",\(Self.quoted(key)):\(Self.quoted(value.description))"
        }
        return line + "}\n"
    }

    static let reserved: Set<String> = ["time", "level", "logger", "message", "source"]
    static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    /// One writer at a time, so lines from different threads never interleave.
    static let output = Mutex(())

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// swift-log's text lines (`StreamLogHandler` on standard error), with the logger's metadata
/// formatted when a line is written. `StreamLogHandler` sorts and formats all of it again at every
/// change: Hummingbird sets a request id on each request's logger, and our consumers set the
/// message's ids on each message's, so that formatting ran per request and per message for lines
/// that were mostly never written (docs/benchmarks.md, "Allocations an order").
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Writes the lines; it has no metadata or provider of its own, each event brings all of it.
    var stream: StreamLogHandler

    /// Standard error, or `output` (a test's).
    public init(
        label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        output: (any TextOutputStream & Sendable)? = nil
    ) {
        stream = output.map { StreamLogHandler(label: label, stream: $0, metadataProvider: nil) }
            ?? StreamLogHandler.standardError(label: label, metadataProvider: nil)
        stream.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// As `StreamLogHandler` merges them: the logger's metadata, then the provider's, then the
    /// call's own, each winning over the one before.
    public func log(event: LogEvent) {
        var event = event
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata { merged.merge(explicit) { _, explicit in explicit } }
        event.metadata = merged.isEmpty ? nil : merged
        stream.log(event: event)
    }
}

/// Sets up logging once per process: `LOG_FORMAT` (`text`, or `json` for log pipelines) and
/// `LOG_LEVEL` (`info`; `trace`, `debug`, `notice`, `warning`, `error`, `critical`).
public enum LogSetup {
    /// A wrong value is reported and the default used: logging must work to report anything.
    public static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let levelText = environment["LOG_LEVEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "info"
        let level = Logger.Level(rawValue: levelText.lowercased())
        let json = environment["LOG_FORMAT"]?.lowercased() == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level ?? .info) }
            return TextLogHandler(label: label, level: level ?? .info)
        }
        if level == nil {
            Logger(label: "emporium").warning("LOG_LEVEL: unknown level \(levelText); using info")
        }
        if let format = environment["LOG_FORMAT"], !format.isEmpty, !["json", "text"].contains(format.lowercased()) {
            Logger(label: "emporium").warning("LOG_FORMAT: expected text or json, got \(format); using text")
        }
    }
}
