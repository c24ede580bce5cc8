public import Messaging

/// Where the domains' messages travel. Kafka topics carry events keyed by their aggregate (SKU,
/// order id), so each key's events stay in order; RabbitMQ carries commands and delayed messages.
public enum Destinations {
    /// Catalog events, keyed by SKU.
    public static let productTopic = "product"
    /// Order lifecycle and stock decisions, keyed by order id.
    public static let orderTopic = "order"
    /// Account events, keyed by account id.
    public static let userTopic = "user"

    public static let products = MessageDestination.kafka(productTopic)
    public static let orders = MessageDestination.kafka(orderTopic)
    public static let users = MessageDestination.kafka(userTopic)

    /// Routing keys on the work exchange.
    public static let paymentReminderKey = PaymentReminderDue.messageType
    public static let expiryKey = OrderExpiryDue.messageType
    public static let mailKey = MailSend.messageType
    public static let codeExpiryKey = VerificationCodeExpiryDue.messageType

    public static let mail = MessageDestination.amqp(mailKey)

    /// Every Kafka topic of the project, each with its dead-letter topic: the one list that the
    /// development Kafka, `emporium topics create` (compose's kafka-init and the Kubernetes topics
    /// Job), the tests and the documentation take their topics from (`emporium topics list`).
    public static let kafkaTopics: [KafkaTopicLayout] = [
        KafkaTopicLayout(name: productTopic, partitions: 16, deadLetterPartitions: 4, key: "SKU"),
        KafkaTopicLayout(name: orderTopic, partitions: 16, deadLetterPartitions: 4, key: "order id"),
        KafkaTopicLayout(name: userTopic, partitions: 8, deadLetterPartitions: 2, key: "account id"),
    ]
}

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
