import ConnectionPool

/// Settings for a producer. The doc of each property names the librdkafka key it sets; `extra`
/// passes any other key through (a wrong key or value fails `make` with the key's name).
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`.
    public var bootstrapServers: [String]
    /// `linger.ms`: how long to wait to fill a batch.
    public var linger: Duration = .milliseconds(5)
    /// `batch.num.messages`.
    public var batchMessages = 10_000
    /// `batch.size` in bytes.
    public var batchBytes = 1_000_000
    /// `compression.codec`: none, gzip, snappy, lz4, zstd.
    public var compression = "none"
    /// `message.max.bytes`.
    public var maximumMessageBytes = 1_000_000
    /// `message.timeout.ms`: a message not acknowledged by then fails its `send`.
    public var deliveryTimeout: Duration = .seconds(30)
    /// How long shutdown waits for messages in flight before failing them.
    public var flushTimeout: Duration = .seconds(10)
    public var extra: [String: String] = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    var properties: [String: String] {
        var properties = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "enable.idempotence": "true",
            "acks": "all",
            "partitioner": "murmur2_random",  // by key, compatible with the Java client
            "linger.ms": String(linger.wholeMilliseconds),
            "batch.num.messages": String(batchMessages),
            "batch.size": String(batchBytes),
            "compression.codec": compression,
            "message.max.bytes": String(maximumMessageBytes),
            "message.timeout.ms": String(deliveryTimeout.wholeMilliseconds),
        ]
        properties.merge(extra) { _, new in new }
        return properties
    }
}

/// Settings for a consumer in a group; offsets are committed only by the application.
public struct KafkaConsumerConfiguration: Sendable {
    /// `bootstrap.servers`.
    public var bootstrapServers: [String]
    /// `group.id`.
    public var groupID: String
    /// `session.timeout.ms`; a rebalance waits this long for a member that left without saying so.
    public var sessionTimeout: Duration = .seconds(10)
    /// `auto.offset.reset`: where a group without a committed offset starts (`earliest`, `latest`).
    public var autoOffsetReset = "earliest"
    /// Messages fetched but not yet taken by the application before fetching pauses.
    public var bufferedMessages = 1_000
    /// `auto.commit.interval.ms`: how often the offsets of handled messages (and only those: the
    /// application stores them) are committed in the background, besides explicit commits and
    /// the commit before partitions are revoked.
    public var commitInterval: Duration = .seconds(1)
    /// `allow.auto.create.topics`; off means subscribing to an unknown topic is an error.
    public var allowAutoCreateTopics = false
    /// `fetch.wait.max.ms`: how long a broker may hold a fetch that has no data yet. A real broker
    /// answers as soon as data arrives; librdkafka's mock cluster holds every such fetch for the
    /// whole time, so the development Kafka wants a short one.
    public var fetchWaitMax: Duration = .milliseconds(500)
    /// Whether graceful shutdown stops the consumer at once (commit, leave the group). An owner that
    /// first lets in-flight messages finish sets this to false and calls `shutdown()` itself.
    public var stopsOnGracefulShutdown = true
    public var extra: [String: String] = [:]

    public init(bootstrapServers: [String], groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    var properties: [String: String] {
        var properties = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "group.id": groupID,
            // Only what the application stores (marks handled) is ever committed.
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": String(commitInterval.wholeMilliseconds),
            "enable.auto.offset.store": "false",
            "auto.offset.reset": autoOffsetReset,
            "session.timeout.ms": String(sessionTimeout.wholeMilliseconds),
            "heartbeat.interval.ms": String(max(100, sessionTimeout.wholeMilliseconds / 3)),
            "allow.auto.create.topics": allowAutoCreateTopics ? "true" : "false",
            "fetch.wait.max.ms": String(fetchWaitMax.wholeMilliseconds),
        ]
        properties.merge(extra) { _, new in new }
        return properties
    }
}
