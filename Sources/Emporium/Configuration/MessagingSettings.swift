import Foundation
import AMQP
import Kafka
import Messaging
import Ordering
import Redis

/// Brokers, Redis and the messaging runtime's knobs.
///
/// Keys: `KAFKA_BOOTSTRAP_SERVERS` (`127.0.0.1:9092`), `KAFKA_SESSION_TIMEOUT` (`10s`: how long a
/// vanished consumer keeps its partitions, and how long a rebalance may wait),
/// `KAFKA_FETCH_WAIT_MAX` (`500ms`; the development Kafka wants `10ms`, see the services script), `AMQP_URL`
/// (`amqp://guest:guest@127.0.0.1:5672`), `REDIS_URL` (`redis://127.0.0.1:6379`),
/// `MESSAGING_DELAY_LEVELS` (`1s,5s,30s,2m,10m,1h` and the order timers' waits: `2h,4h,8h,10h,12h,20h` at the default
/// timings), `MESSAGING_NAMESPACE`
/// (`emporium`: prefixes the RabbitMQ exchanges and queues and the Kafka consumer groups, so two
/// fleets can share one broker), `MESSAGING_WORK_EXCHANGE` (`<namespace>.work`), `MESSAGING_RETRY_ATTEMPTS` (5), `MESSAGING_RETRY_INITIAL_DELAY` (500ms),
/// `MESSAGING_RETRY_MAX_DELAY` (60s), `MESSAGING_GUARD_TTL` (30s), `OUTBOX_BATCH_SIZE` (500), `OUTBOX_CONCURRENCY` (4 batches in flight per relay),
/// `OUTBOX_POLL_INTERVAL` (1s), `OUTBOX_WATCH_INTERVAL` (25ms; 0 turns the watcher off), `OUTBOX_RETENTION` (168h),
/// `MESSAGING_INBOX_RETENTION` (168h: how long a handled message's id is remembered), `METRICS_HOST` (`127.0.0.1`),
/// `METRICS_PORT` (per role; 0 picks a free port). Durations take `ms`, `s`, `m`, `h`, `d`.
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
    var inboxRetention: Duration
    var metricsHost: String
    var metricsPort: Int?

    init(environment: Environment) throws {
        kafkaBootstrapServers = environment.string("KAFKA_BOOTSTRAP_SERVERS", default: "127.0.0.1:9092")
            .split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        amqp = try environment.parse("AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672") { try AMQPConfiguration(url: $0, key: "AMQP_URL") }
        redis = try environment.parse("REDIS_URL", default: "redis://127.0.0.1:6379") { try RedisConfiguration(url: $0, key: "REDIS_URL") }
        kafkaSessionTimeout = try environment.duration("KAFKA_SESSION_TIMEOUT", default: .seconds(10))
        kafkaFetchWaitMax = try environment.duration("KAFKA_FETCH_WAIT_MAX", default: .milliseconds(500))
        namespace = environment.string("MESSAGING_NAMESPACE", default: "emporium")
        guard namespace.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), namespace.utf8.count <= 100 else {
            throw ConfigurationError(key: "MESSAGING_NAMESPACE", message: "expected up to 100 printable ASCII characters, got \"\(namespace)\"")
        }
        // By default the retry levels and the order timers' waits, so that each timer is one hop.
        let timerWaits = OrderTimer.waits(timings: try OrderSettings.timings(environment: environment))
        let levels = try environment.durations("MESSAGING_DELAY_LEVELS", default: AMQPDelays.retryLevels + timerWaits)
        do {
            delays = try AMQPDelays(
                levels: levels, workExchange: environment.string("MESSAGING_WORK_EXCHANGE", default: "\(namespace).work"),
                prefix: "\(namespace).delay")
        } catch {
            throw ConfigurationError(key: "MESSAGING_DELAY_LEVELS", message: error.message)
        }
        retry = RetryPolicy(
            maximumAttempts: try environment.integer("MESSAGING_RETRY_ATTEMPTS", default: 5, range: 1...100),
            initialDelay: try environment.duration("MESSAGING_RETRY_INITIAL_DELAY", default: .milliseconds(500)),
            maximumDelay: try environment.duration("MESSAGING_RETRY_MAX_DELAY", default: .seconds(60)))
        guardTimeToLive = try environment.duration("MESSAGING_GUARD_TTL", default: .seconds(30))
        relay = OutboxRelaySettings()
        relay.batchSize = try environment.integer("OUTBOX_BATCH_SIZE", default: 500, range: 1...10_000)
        relay.concurrency = try environment.integer("OUTBOX_CONCURRENCY", default: 4, range: 1...64)
        relay.pollInterval = try environment.duration("OUTBOX_POLL_INTERVAL", default: .seconds(1))
        let watch = try environment.duration("OUTBOX_WATCH_INTERVAL", default: .milliseconds(25))
        relay.watchInterval = watch > .zero ? watch : nil
        relay.retention = try environment.duration("OUTBOX_RETENTION", default: .seconds(168 * 3600))
        inboxRetention = try environment.duration("MESSAGING_INBOX_RETENTION", default: .seconds(168 * 3600))
        // Shorter than the retries and redeliveries of a message, and a copy could be handled twice;
        // under a minute is a mistake, not a choice (the bench's soak uses minutes).
        if inboxRetention < .seconds(60) {
            throw ConfigurationError(key: "MESSAGING_INBOX_RETENTION", message: "must be at least 1m")
        }
        metricsHost = environment.string("METRICS_HOST", default: "127.0.0.1")
        metricsPort = try environment.optionalString("METRICS_PORT").map { _ in
            try environment.integer("METRICS_PORT", default: 0, range: 0...65535)
        }
    }

    /// A queue or consumer group name in this fleet's namespace.
    func named(_ name: String) -> String { "\(namespace).\(name)" }
}
