/// A Kafka topic, its partition count (the most consumers of one group that get work), and its
/// dead-letter topic (`<name>.dlq`, fewer partitions: poison is rare and replayed by hand).
public struct KafkaTopicLayout: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var deadLetterPartitions: Int
    /// What the messages are keyed by, so that each key's messages stay in order.
    public var key: String

    public init(name: String, partitions: Int, deadLetterPartitions: Int, key: String) {
        self.name = name
        self.partitions = partitions
        self.deadLetterPartitions = deadLetterPartitions
        self.key = key
    }

    public var deadLetterName: String { name + KafkaMessageConsumer.deadLetterSuffix }

    /// The topic and its dead-letter topic, with their partition counts, as they are created.
    public var created: [(name: String, partitions: Int)] {
        [(name, partitions), (deadLetterName, deadLetterPartitions)]
    }

    /// The same layout with every partition count divided by `divisor` (at least 1): the tests'
    /// mock clusters are smaller, but have the same topics.
    public func scaled(down divisor: Int) -> KafkaTopicLayout {
        KafkaTopicLayout(
            name: name, partitions: max(1, partitions / divisor), deadLetterPartitions: max(1, deadLetterPartitions / divisor), key: key)
    }
}
