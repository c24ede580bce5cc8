import Foundation

/// A message to publish.
public struct AMQPOutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    /// Identifies the message; generated when empty. Also how a returned message is matched.
    public var messageID: String
    public var contentType: String?
    public var type: String?
    public var correlationID: String?
    public var headers: [String: AMQPFieldValue]
    /// Per-message TTL (the `expiration` property).
    public var expiration: Duration?
    public var persistent: Bool
    /// Unroutable messages come back as errors instead of vanishing.
    public var mandatory: Bool

    public init(
        exchange: String, routingKey: String, body: [UInt8], messageID: String? = nil,
        contentType: String? = nil, type: String? = nil, correlationID: String? = nil,
        headers: [String: AMQPFieldValue] = [:], expiration: Duration? = nil, persistent: Bool = true, mandatory: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageID = messageID ?? UUID().uuidString
        self.contentType = contentType
        self.type = type
        self.correlationID = correlationID
        self.headers = headers
        self.expiration = expiration
        self.persistent = persistent
        self.mandatory = mandatory
    }
}

/// A delivered message. Settle it exactly once with ``ack()``, ``nack(requeue:)`` or ``reject(requeue:)``.
public struct AMQPDelivery: Sendable {
    public let exchange: String
    public let routingKey: String
    public let body: [UInt8]
    public let messageID: String?
    public let contentType: String?
    public let type: String?
    public let correlationID: String?
    public let headers: [String: AMQPFieldValue]
    /// Where and why the broker last dead-lettered this message, as its headers record it: nil if
    /// it never did, or if a client republished it since without the `x-death` array (on RabbitMQ
    /// 3.13 and later the `x-last-death-*` strings survive such a republish, unless removed).
    public let lastDeath: AMQPDeath?
    public let redelivered: Bool
    public let deliveryTag: UInt64
    let channel: UInt16
    let generation: Int
    let connection: AMQPConnection

    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// Acknowledges the delivery. The ack is queued and written in order; graceful shutdown writes
    /// every queued ack before closing. Throws only when the connection is already shut down.
    public func ack() throws {
        try connection.settle(self, .ack)
    }

    /// Negatively acknowledges it; with `requeue` the broker delivers it again (counting towards a
    /// quorum queue's delivery limit), without it the message is dead-lettered or dropped.
    public func nack(requeue: Bool) throws {
        try connection.settle(self, requeue ? .nackRequeue : .nack)
    }

    public func reject(requeue: Bool) throws {
        try connection.settle(self, requeue ? .rejectRequeue : .reject)
    }
}

/// A dead-lettering by the broker: the queue the message left and the reason (`expired`,
/// `delivery_limit`, `rejected`, `maxlen`). A delayed message (a TTL queue dead-letters it into
/// its work queue) carries one before it ever fails, so a dead letter's origin is the last death,
/// not the first.
public struct AMQPDeath: Sendable, Hashable {
    public let queue: String
    public let reason: String

    public init(queue: String, reason: String) {
        self.queue = queue
        self.reason = reason
    }

    /// The headers in which the broker records a message's deaths. RabbitMQ owns them: a client
    /// that republishes a dead letter to be handled afresh leaves them out.
    public static let headerNames: Set<String> = [
        "x-death", "x-first-death-queue", "x-first-death-reason", "x-first-death-exchange",
        "x-last-death-queue", "x-last-death-reason", "x-last-death-exchange",
    ]
}

enum AMQPSettlement: Sendable, Equatable {
    case ack, nack, nackRequeue, reject, rejectRequeue
}
