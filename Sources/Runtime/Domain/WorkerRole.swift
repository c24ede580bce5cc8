public import Logging
public import Messaging
public import Postgres
public import ServiceLifecycle

/// A worker role of a domain: `emporium worker <name>`, any number of replicas of it. The
/// executable runs what ``plan`` returns with the process's database, Redis, brokers, metrics
/// endpoint, inbox retention and graceful shutdown.
public struct WorkerRole: Sendable {
    /// `order` → `emporium worker order`, process and consumer group `worker-order`.
    public var name: String
    /// One line for `--help`.
    public var abstract: String
    /// Where `/metrics` and the health checks are served unless `METRICS_PORT` says otherwise.
    public var metricsPort: Int
    public var plan: @Sendable (WorkerContext) async throws -> WorkerPlan

    public init(name: String, abstract: String, metricsPort: Int, plan: @escaping @Sendable (WorkerContext) async throws -> WorkerPlan) {
        self.name = name
        self.abstract = abstract
        self.metricsPort = metricsPort
        self.plan = plan
    }

    /// The process's name: `worker-<name>`.
    public var processName: String { "worker-\(name)" }
}

/// What a worker process gives its role's plan.
public struct WorkerContext: Sendable {
    public var settings: SettingsReader
    /// The primary: the inbox and every effect of a message are written in one transaction there.
    public var database: PostgresPool
    public var namespace: String
    public var logger: Logger

    public init(settings: SettingsReader, database: PostgresPool, namespace: String, logger: Logger) {
        self.settings = settings
        self.database = database
        self.namespace = namespace
        self.logger = logger
    }
}

/// What a worker consumes and runs.
public struct WorkerPlan: Sendable {
    public var subscriptions: [Subscription]
    /// RabbitMQ queues it declares for other roles, so their messages have somewhere to wait
    /// until those roles start (the order worker declares the mail queue).
    public var declaredQueues: [QueueBinding]
    /// Periodic services (purges, gauges).
    public var services: [any Service]

    public init(subscriptions: [Subscription], declaredQueues: [QueueBinding] = [], services: [any Service] = []) {
        self.subscriptions = subscriptions
        self.declaredQueues = declaredQueues
        self.services = services
    }
}

/// Messages a worker takes, and the handlers they go to (through the inbox, the Redis guard and
/// the retries of the messaging runtime).
public struct Subscription: Sendable {
    public enum Source: Sendable {
        /// Kafka topics, consumed in the role's consumer group.
        case kafka(topics: [String])
        /// A RabbitMQ queue of the role's.
        case queue(QueueBinding)
    }

    public var source: Source
    public var handlers: MessageHandlers
    /// nil: the messaging settings' retries (`MESSAGING_RETRY_*`).
    public var retry: RetryPolicy?
    /// True when every handler acts only through the message's transaction (see
    /// ``MessageConsumerSettings/handlersActOnlyInTransaction``): a round trip fewer per message.
    public var handlersActOnlyInTransaction: Bool

    public init(_ source: Source, handlers: MessageHandlers, retry: RetryPolicy? = nil, handlersActOnlyInTransaction: Bool = false) {
        self.source = source
        self.handlers = handlers
        self.retry = retry
        self.handlersActOnlyInTransaction = handlersActOnlyInTransaction
    }
}
