import ConnectionPool

/// A value in a table: queue arguments or message headers.
public enum AMQPFieldValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case boolean(Bool)
}

/// An exchange to declare.
public struct AMQPExchange: Sendable, Hashable {
    public var name: String
    /// `direct`, `topic`, `fanout` or `headers`.
    public var type: String
    public var durable: Bool
    /// `alternate-exchange`: where messages this exchange cannot route go instead of vanishing.
    public var alternateExchange: String?

    public init(name: String, type: String = "direct", durable: Bool = true, alternateExchange: String? = nil) {
        self.name = name
        self.type = type
        self.durable = durable
        self.alternateExchange = alternateExchange
    }

    var arguments: [String: AMQPFieldValue] {
        alternateExchange.map { ["alternate-exchange": .string($0)] } ?? [:]
    }
}

/// A queue to declare, with the arguments RabbitMQ understands.
public struct AMQPQueue: Sendable, Hashable {
    /// Classic or quorum.
    public struct Kind: Sendable, Hashable {
        let name: String
        public static let classic = Kind(name: "classic")
        public static let quorum = Kind(name: "quorum")
    }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    /// `x-message-ttl`: messages older than this are dead-lettered (or dropped without a DLX).
    public var messageTTL: Duration?
    /// `x-dead-letter-exchange`.
    public var deadLetterExchange: String?
    /// `x-dead-letter-routing-key`.
    public var deadLetterRoutingKey: String?
    /// `x-delivery-limit` (quorum queues): deliveries after which a message is dead-lettered.
    public var deliveryLimit: Int?
    /// `x-overflow`: `drop-head`, `reject-publish` or `reject-publish-dlx`.
    public var overflow: String?
    /// `x-max-length`.
    public var maximumLength: Int?
    /// Any other argument.
    public var extraArguments: [String: AMQPFieldValue]

    public init(
        name: String, kind: Kind = .quorum, durable: Bool = true, messageTTL: Duration? = nil,
        deadLetterExchange: String? = nil, deadLetterRoutingKey: String? = nil, deliveryLimit: Int? = nil,
        overflow: String? = nil, maximumLength: Int? = nil, extraArguments: [String: AMQPFieldValue] = [:]
    ) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.messageTTL = messageTTL
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterRoutingKey = deadLetterRoutingKey
        self.deliveryLimit = deliveryLimit
        self.overflow = overflow
        self.maximumLength = maximumLength
        self.extraArguments = extraArguments
    }

    var arguments: [String: AMQPFieldValue] {
        var arguments = extraArguments
        arguments["x-queue-type"] = .string(kind.name)
        if let messageTTL { arguments["x-message-ttl"] = .integer(Int64(messageTTL.wholeMilliseconds)) }
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deadLetterRoutingKey { arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey) }
        if let deliveryLimit { arguments["x-delivery-limit"] = .integer(Int64(deliveryLimit)) }
        if let overflow { arguments["x-overflow"] = .string(overflow) }
        if let maximumLength { arguments["x-max-length"] = .integer(Int64(maximumLength)) }
        return arguments
    }
}

/// A binding of a queue to an exchange.
public struct AMQPBinding: Sendable, Hashable {
    public var queue: String
    public var exchange: String
    public var routingKey: String

    public init(queue: String, exchange: String, routingKey: String) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
    }
}

/// Everything a connection declares on connect, and again after every reconnect.
public struct AMQPTopology: Sendable, Hashable {
    public var exchanges: [AMQPExchange]
    public var queues: [AMQPQueue]
    public var bindings: [AMQPBinding]

    public init(exchanges: [AMQPExchange] = [], queues: [AMQPQueue] = [], bindings: [AMQPBinding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    mutating func merge(_ other: AMQPTopology) {
        exchanges += other.exchanges.filter { !exchanges.contains($0) }
        queues += other.queues.filter { !queues.contains($0) }
        bindings += other.bindings.filter { !bindings.contains($0) }
    }
}
