public import Messaging

/// One domain, declared in one value: what it adds to the API, its worker roles with their
/// subscriptions, its Kafka topics, the delays its timers need, and its settings keys. The
/// executable lists the domains once (`Domains.all`); the gateway's routes, `emporium worker
/// <role>`, the topic list (`emporium topics`), the delay queues, `emporium config keys` and the
/// checks of the deployment files are all derived from these values (docs/adding-a-domain.md).
public struct DomainModule: Sendable {
    /// A lower-case name (`ordering`).
    public var name: String
    /// Its sections of the configuration reference.
    public var settings: [any SettingGroup]
    /// The Kafka topics whose events it publishes, each with its dead-letter topic.
    public var topics: [KafkaTopicLayout]
    /// The waits its timers need, from the settings, so that each becomes a delay level and every
    /// timer is one delayed publish (``AMQPDelays``).
    public var delays: @Sendable (SettingsReader) throws -> [Duration]
    /// Its routes and the services the API process runs for it; nil when it serves no HTTP.
    public var api: (@Sendable (APIContext) async throws -> APIPart)?
    /// Its worker roles: `emporium worker <name>`.
    public var workers: [WorkerRole]
    /// The schemas of the API's document that its Swift types define (requests and answers):
    /// `make openapi` writes their shapes into Sources/Gateway/openapi.json.
    public var apiModels: [APIModel]

    public init(
        name: String, settings: [any SettingGroup] = [], topics: [KafkaTopicLayout] = [],
        delays: @escaping @Sendable (SettingsReader) throws -> [Duration] = { _ in [] },
        api: (@Sendable (APIContext) async throws -> APIPart)? = nil, workers: [WorkerRole] = [], apiModels: [APIModel] = []
    ) {
        self.name = name
        self.settings = settings
        self.topics = topics
        self.delays = delays
        self.api = api
        self.workers = workers
        self.apiModels = apiModels
    }
}
