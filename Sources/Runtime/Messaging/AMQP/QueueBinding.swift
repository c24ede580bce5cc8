/// A RabbitMQ queue on the work exchange as a domain declares it: its name within the namespace,
/// its routing keys, the handlers at once, and where its dead letters go (`<queue>.dlq` unless
/// named). Lanes of one kind of message (the mail queue and the code mails' queue) can share a
/// dead-letter queue, so operators watch and replay one.
public struct QueueBinding: Sendable {
    public var queue: String
    public var routingKeys: [String]
    /// Messages in work at once.
    public var concurrency: Int
    /// The dead-letter queue's name within the namespace; `nil` for `<queue>.dlq`.
    public var deadLetterQueue: String?

    public init(queue: String, routingKeys: [String], concurrency: Int = 1, deadLetterQueue: String? = nil) {
        self.queue = queue
        self.routingKeys = routingKeys
        self.concurrency = concurrency
        self.deadLetterQueue = deadLetterQueue
    }

    /// The same binding with `concurrency` handlers at once.
    public func concurrency(_ concurrency: Int) -> QueueBinding {
        var binding = self
        binding.concurrency = concurrency
        return binding
    }

    /// The consumer's settings, with every queue name put in the namespace by `named`.
    public func consumerSettings(named: (String) -> String) -> AMQPMessageConsumerSettings {
        var settings = AMQPMessageConsumerSettings(queue: named(queue), routingKeys: routingKeys)
        settings.concurrency = concurrency
        if let deadLetterQueue { settings.deadLetterQueue = named(deadLetterQueue) }
        return settings
    }
}
