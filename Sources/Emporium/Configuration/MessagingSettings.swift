import DomainRuntime
import Foundation
import AMQP
import Kafka
import Messaging
import Redis

/// Brokers, Redis and the messaging runtime's knobs. Keys: ``BrokerKeys``, ``MessagingKeys``, and
/// the metrics address of ``ProcessKeys``.
struct MessagingSettings: Sendable {
    var kafkaBootstrapServers: [String]
    var kafkaSessionTimeout: Duration
    var kafkaFetchWaitMax: Duration
    var namespace: String
    var amqp: AMQPConfiguration
    var redis: RedisConfiguration
    var delays: AMQPDelays
    var retry: RetryPolicy
    var guardTimeToLive: Duration
    var relay: OutboxRelaySettings
    /// The relay's Kafka producer's `linger.ms`.
    var relayKafkaLinger: Duration
    var inboxRetention: Duration
    var metricsHost: String
    var metricsPort: Int?

    init(settings reader: SettingsReader) throws {
        let brokers = BrokerKeys()
        kafkaBootstrapServers = try reader.value(brokers.kafkaBootstrapServers)
            .split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        amqp = try reader.value(brokers.amqp)
        redis = try reader.value(brokers.redis)
        kafkaSessionTimeout = try reader.value(brokers.kafkaSessionTimeout)
        kafkaFetchWaitMax = try reader.value(brokers.kafkaFetchWaitMax)

        let keys = MessagingKeys()
        namespace = try reader.value(keys.namespace)
        // By default the retry levels and the waits of the domains' timers, so that each timer is one hop.
        let levels = try reader.value(keys.delayLevels) ?? AMQPDelays.retryLevels + (try Domains.all.delays(reader))
        let workExchange = try reader.value(keys.workExchange) ?? "\(namespace).work"
        do {
            delays = try AMQPDelays(levels: levels, workExchange: workExchange, prefix: "\(namespace).delay")
        } catch {
            throw ConfigurationError(key: keys.delayLevels.name, message: error.message)
        }
        retry = RetryPolicy(
            maximumAttempts: try reader.value(keys.retryAttempts),
            initialDelay: try reader.value(keys.retryInitialDelay),
            maximumDelay: try reader.value(keys.retryMaximumDelay))
        guardTimeToLive = try reader.value(keys.guardTimeToLive)
        relay = OutboxRelaySettings()
        relay.batchSize = try reader.value(keys.outboxBatchSize)
        relay.concurrency = try reader.value(keys.outboxConcurrency)
        relay.pollInterval = try reader.value(keys.outboxPollInterval)
        let watch = try reader.value(keys.outboxWatchInterval)
        relay.watchInterval = watch > .zero ? watch : nil
        relay.retention = try reader.value(keys.outboxRetention)
        relayKafkaLinger = try reader.value(keys.outboxKafkaLinger)
        inboxRetention = try reader.value(keys.inboxRetention)

        let process = ProcessKeys()
        metricsHost = try reader.value(process.metricsHost)
        metricsPort = try reader.value(process.metricsPort)
    }

    /// A queue or consumer group name in this fleet's namespace.
    func named(_ name: String) -> String { "\(namespace).\(name)" }
}

struct BrokerKeys: SettingGroup {
    var title: String { "Brokers and Redis" }

    let kafkaBootstrapServers = Setting.text(
        "KAFKA_BOOTSTRAP_SERVERS", default: "127.0.0.1:9092",
        meaning: "comma-separated Kafka brokers (the local services script exports the development Kafka's)")
    let kafkaSessionTimeout = Setting.duration(
        "KAFKA_SESSION_TIMEOUT", default: .seconds(10), atLeast: .milliseconds(1),
        meaning: "how long a vanished consumer keeps its partitions, and how long a rebalance may wait")
    let kafkaFetchWaitMax = Setting.duration(
        "KAFKA_FETCH_WAIT_MAX", default: .milliseconds(500),
        meaning: "`fetch.wait.max.ms`. The services script sets `10ms` for the development Kafka, whose mock brokers hold every "
            + "empty fetch that long (a real broker answers when data arrives)")
    let amqp = Setting<AMQPConfiguration>.parsed(
        "AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672", secrecy: .urlPassword,
        meaning: "RabbitMQ; no trailing `/` (that would mean the empty vhost). `amqps://` for TLS (port 5671 unless given), "
            + "with the TLS options below"
    ) { try AMQPConfiguration(url: $0, key: $1) }
    let redis = Setting<RedisConfiguration>.parsed(
        "REDIS_URL", default: "redis://127.0.0.1:6379", secrecy: .urlPassword,
        meaning: "locks, guards, rate limits, cooldowns; `?pool_size=`. `rediss://` for TLS, with the TLS options below"
    ) { try RedisConfiguration(url: $0, key: $1) }
}

struct MessagingKeys: SettingGroup {
    var title: String { "Messaging runtime" }
    /// The domains' keys, all unset: their defaults.
    private static let defaults = try! SettingsReader(keys: Domains.all.settings.flatMap(\.declarations), variables: [:])

    let namespace = Setting<String>(
        "MESSAGING_NAMESPACE", default: "emporium", defaultText: "emporium",
        meaning: "prefixes the RabbitMQ exchanges and queues (`<ns>.work`, `<ns>.delay.*`, `<ns>.order`, `<ns>.mail`, `<ns>.mail.codes`, `<ns>.auth`), "
            + "the Kafka consumer groups and the Redis keys, so fleets can share brokers (the tests run one per test process)"
    ) { text in
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), text.utf8.count <= 100 else {
            throw SettingProblem.expected("up to 100 printable ASCII characters")
        }
        return text
    }
    let workExchange = Setting.optionalText(
        "MESSAGING_WORK_EXCHANGE", defaultText: "<namespace>.work", meaning: "the exchange every consumer queue is bound to")
    let delayLevels = Setting<[Duration]?>(
        "MESSAGING_DELAY_LEVELS", default: nil,
        defaultText: try! AMQPDelays(levels: AMQPDelays.retryLevels + Domains.all.delays(Self.defaults))
            .levels.map(AMQPDelays.compact).joined(separator: ","),
        meaning: "one quorum delay queue each ([delays](messaging.md#delays)). Unset, the retry levels ("
            + AMQPDelays.retryLevels.map(AMQPDelays.compact).joined(separator: ",")
            + ") and the waits the domains' timers need, derived from their settings (between the order timers, from the `ORDER_*` "
            + "timings; the default shows them at the default timings), so that each timer is one delayed publish"
    ) { text in
        guard let levels = AMQPDelays.parseLevels(text) else { throw SettingProblem.expected("comma-separated durations such as 1s,30s,4h") }
        return levels
    }
    let retryAttempts = Setting.integer(
        "MESSAGING_RETRY_ATTEMPTS", default: 5, in: 1...100, meaning: "tries in all before a message is dead-lettered")
    let retryInitialDelay = Setting.duration(
        "MESSAGING_RETRY_INITIAL_DELAY", default: .milliseconds(500), meaning: "the first retry's wait (doubling, ±20% jitter)")
    let retryMaximumDelay = Setting.duration("MESSAGING_RETRY_MAX_DELAY", default: .seconds(60), meaning: "the longest retry wait")
    let guardTimeToLive = Setting.duration(
        "MESSAGING_GUARD_TTL", default: .seconds(30), atLeast: .milliseconds(1),
        meaning: "the Redis guard's lease on a message in work; longer than the slowest handler")
    let outboxBatchSize = Setting.integer("OUTBOX_BATCH_SIZE", default: 500, in: 1...10_000, meaning: "rows per relay claim")
    let outboxConcurrency = Setting.integer("OUTBOX_CONCURRENCY", default: 4, in: 1...64, meaning: "batches in flight per relay")
    let outboxPollInterval = Setting.duration(
        "OUTBOX_POLL_INTERVAL", default: .seconds(1), atLeast: .milliseconds(1), meaning: "the relay's full scan")
    let outboxWatchInterval = Setting.duration(
        "OUTBOX_WATCH_INTERVAL", default: .milliseconds(25),
        meaning: "how often the relay probes for ready rows (one index probe; `0` turns it off)")
    let outboxKafkaLinger = Setting.duration(
        "OUTBOX_KAFKA_LINGER", default: OutboxRelaySettings.defaultKafkaLinger,
        meaning: "the relay's Kafka producer's `linger.ms`: the relay sends a claimed batch at once, so a longer wait only adds "
            + "to every hop (librdkafka's default, 5 ms, added about 4 ms to each)")
    let outboxRetention = Setting.duration(
        "OUTBOX_RETENTION", default: .seconds(7 * 86_400), meaning: "how long sent rows are kept")
    // Shorter than the retries and redeliveries of a message, and a copy could be handled twice;
    // under a minute is a mistake, not a choice (the bench's soak uses minutes).
    let inboxRetention = Setting.duration(
        "MESSAGING_INBOX_RETENTION", default: .seconds(7 * 86_400), atLeast: .seconds(60),
        meaning: "how long a handled message's id is kept in `messaging.inbox`; a copy delivered again after this is handled "
            + "again, so keep it above the Kafka topics' retention and how far back dead letters are replayed")
}
