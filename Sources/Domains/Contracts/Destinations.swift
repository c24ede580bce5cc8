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
    /// Mails that carry a code (verification, password reset): a lane of their own, so a
    /// customer waiting for a code is not queued behind a burst of order mails.
    public static let codeMailKey = MailSend.messageType + ".code"
    public static let codeExpiryKey = VerificationCodeExpiryDue.messageType

    /// Where `command` goes: the code lane when it carries a secret, the mail queue otherwise.
    public static func mail(_ command: MailSend) -> MessageDestination {
        .amqp(command.carriesSecret ? codeMailKey : mailKey)
    }

    /// The mail worker's queues, each with its routing key; both dead-letter into `<ns>.mail.dlq`.
    /// Publishers declare them too (``WorkerPlan/declaredQueues``), so a command waits there
    /// until a mail worker takes it.
    public static let mailQueue = QueueBinding(queue: "mail", routingKeys: [mailKey])
    public static let codeMailQueue = QueueBinding(queue: "mail.codes", routingKeys: [codeMailKey], deadLetterQueue: "mail.dlq")

    /// Each topic, its partitions and its dead-letter topic; the domain that publishes to it
    /// declares it (``DomainModule/topics``), and `emporium topics list` lists them all.
    public static let productLayout = KafkaTopicLayout(name: productTopic, partitions: 16, deadLetterPartitions: 4, key: "SKU")
    public static let orderLayout = KafkaTopicLayout(name: orderTopic, partitions: 16, deadLetterPartitions: 4, key: "order id")
    public static let userLayout = KafkaTopicLayout(name: userTopic, partitions: 8, deadLetterPartitions: 2, key: "account id")

    /// Every Kafka topic of the built-in domains, each with its dead-letter topic: what the
    /// development Kafka, the tests and the documentation take their topics from (the executable's
    /// `emporium topics list` gathers the same from the domains' declarations).
    public static let kafkaTopics: [KafkaTopicLayout] = [productLayout, orderLayout, userLayout]
}
