public import Messaging

/// The domains a process runs, checked for clashes, and everything derived from their
/// declarations: the topic list, the worker roles, the settings, the delays, the API.
public struct DomainSet: Sendable {
    public let modules: [DomainModule]

    /// Refuses two domains, worker roles, metrics ports, topics or settings keys of one name: each
    /// would silently shadow the other.
    public init(_ modules: [DomainModule]) throws(DomainSetError) {
        self.modules = modules
        try Self.unique(modules.map(\.name), "domain")
        try Self.unique(modules.flatMap(\.workers).map(\.name), "worker role")
        try Self.unique(modules.flatMap(\.workers).map { String($0.metricsPort) }, "worker metrics port")
        try Self.unique(modules.flatMap(\.topics).flatMap { [$0.name, $0.deadLetterName] }, "Kafka topic")
        try Self.unique(modules.flatMap(\.settings).flatMap(\.declarations).map(\.name), "settings key")
        try Self.unique(modules.flatMap(\.settings).map(\.title), "settings section")
        try Self.unique(modules.flatMap(\.apiModels).map(\.schema), "API model schema")
    }

    private static func unique(_ names: [String], _ what: String) throws(DomainSetError) {
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            throw DomainSetError(description: "two declarations of the \(what) \"\(name)\"")
        }
    }

    /// Every Kafka topic, each with its dead-letter topic.
    public var topics: [KafkaTopicLayout] { modules.flatMap(\.topics) }

    /// Every worker role, in the order of the domains.
    public var workers: [WorkerRole] { modules.flatMap(\.workers) }

    /// Every domain's sections of the configuration reference.
    public var settings: [any SettingGroup] { modules.flatMap(\.settings) }

    /// Every domain's API models (schemas of the API's document).
    public var apiModels: [APIModel] { modules.flatMap(\.apiModels) }

    /// The waits the domains' timers need, from the settings.
    public func delays(_ settings: SettingsReader) throws -> [Duration] {
        try modules.flatMap { try $0.delays(settings) }
    }

    /// Every domain's part of the API, in the order of the domains.
    public func api(_ context: APIContext) async throws -> APIPart {
        var whole = APIPart(routes: [])
        for module in modules {
            guard let api = module.api else { continue }
            let part = try await api(context)
            whole.routes += part.routes
            whole.services += part.services
        }
        return whole
    }
}

/// Two declarations that clash.
public struct DomainSetError: Error, CustomStringConvertible {
    public let description: String
}
