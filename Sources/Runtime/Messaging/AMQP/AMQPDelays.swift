public import AMQP
import ConnectionPool
public import Foundation

/// Delayed delivery on stock RabbitMQ, without the delayed-message plugin (which keeps a single,
/// unreplicated copy): one quorum queue per delay level, whose message TTL dead-letters (at least
/// once) into the due exchange under the message's own routing key; every consumer queue is bound
/// to the due exchange as to the work exchange. What the due exchange cannot route (its queue was
/// deleted, or is not deployed yet) goes to its alternate exchange and waits in the
/// `<work exchange>.unrouted` queue, instead of vanishing or piling up in the delay queue.
///
/// A delay just under a level (by at most ``tolerance(for:)``: a timer scheduled a little after
/// the previous one was due) goes to that level in one hop and arrives that little late. Any other
/// delay that is not a level is composed of levels: the message goes to the largest level that
/// fits, carrying `x-deliver-at`; the consumer that receives it early sends it on to the next
/// level (``nextHop(for:now:)``) until what is left is under half the smallest level. Lateness
/// does not add up along a chain of timers: once it passes the tolerance, the next timer is
/// composed and on time again.
///
public struct AMQPDelays: Sendable {
    /// The direct exchange every consumer queue is bound to, by its own name and by the routing
    /// keys it takes. Delay queues dead-letter into it.
    public let workExchange: String
    /// Sorted, shortest first.
    public let levels: [Duration]
    let prefix: String

    /// Where delayed messages arrive when they are due (see the type's documentation).
    public var dueExchange: String { workExchange + ".due" }
    /// Where due messages that no queue takes wait for an operator.
    public var unroutedQueue: String { workExchange + ".unrouted" }

    public init(levels: [Duration], workExchange: String = "emporium.work", prefix: String = "emporium.delay") throws(MessagingError) {
        let sorted = Array(Set(levels.filter { $0 > .zero })).sorted()
        guard !sorted.isEmpty else { throw MessagingError(.configuration, "at least one delay level is needed") }
        self.levels = sorted
        self.workExchange = workExchange
        self.prefix = prefix
    }

    /// Short levels for retries and short waits.
    public static let retryLevels: [Duration] = [
        .seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600), .seconds(3600),
    ]

    /// The levels declared unless configured otherwise: ``retryLevels`` and the delays the order
    /// timers are scheduled with at their default timings (each timer waits from the one before:
    /// 4 h, 8 h, 10 h and 2 h for the reminders and the expiry, 20 h and 12 h for a paid order
    /// skipping to its expiry), so that each timer is one hop. The executable derives the timer
    /// levels from the configured timings; this list is what it gets with the defaults.
    public static let defaultLevels: [Duration] = retryLevels + [
        .seconds(2 * 3600), .seconds(4 * 3600), .seconds(8 * 3600), .seconds(10 * 3600), .seconds(12 * 3600), .seconds(20 * 3600),
    ]

    /// How much later than asked a delay of `remaining` may arrive by going to the next level up
    /// in one hop: a thousandth of it, and at least half the smallest level (what a message may
    /// also arrive early by).
    public func tolerance(for remaining: Duration) -> Duration {
        max(levels[0] / 2, remaining / 1000)
    }

    /// The name of a level's exchange and queue, e.g. `emporium.delay.4h`.
    public func queueName(for level: Duration) -> String { "\(prefix).\(Self.compact(level))" }

    public var queueNames: [String] { levels.map(queueName) }

    /// The work and due exchanges, the unrouted queue, and per level a fanout exchange bound to a
    /// quorum queue with the level's TTL, dead-lettering into the due exchange.
    public var topology: AMQPTopology {
        var topology = AMQPTopology(
            exchanges: [
                AMQPExchange(name: workExchange, type: "direct"),
                AMQPExchange(name: unroutedQueue, type: "fanout"),
                AMQPExchange(name: dueExchange, type: "direct", alternateExchange: unroutedQueue),
            ],
            queues: [AMQPQueue(name: unroutedQueue, kind: .quorum)],
            bindings: [AMQPBinding(queue: unroutedQueue, exchange: unroutedQueue, routingKey: "")])
        for level in levels {
            let name = queueName(for: level)
            topology.exchanges.append(AMQPExchange(name: name, type: "fanout"))
            // At-least-once dead-lettering (which needs reject-publish overflow): a message whose TTL
            // runs out during a leader change is kept until the due exchange has it, not dropped.
            topology.queues.append(AMQPQueue(
                name: name, kind: .quorum, messageTTL: level, deadLetterExchange: dueExchange, overflow: "reject-publish",
                extraArguments: ["x-dead-letter-strategy": .string("at-least-once")]))
            topology.bindings.append(AMQPBinding(queue: name, exchange: name, routingKey: ""))
        }
        return topology
    }

    /// `message` (meant for `routingKey` on the work exchange) delivered after `delay`: sent to the
    /// first level, or straight to the work exchange when the delay is under half the smallest level.
    public func schedule(_ message: AMQPOutgoingMessage, after delay: Duration, now: Date = Date()) -> AMQPOutgoingMessage {
        var message = message
        message.exchange = workExchange
        guard delay > .zero else { return message }
        let deliverAt = now.addingTimeInterval(Double(delay.wholeMilliseconds) / 1000)
        message.headers[EnvelopeHeader.deliverAt] = .integer(WireTime.milliseconds(deliverAt))
        return route(message, remaining: delay)
    }

    /// For a delivery that carries `x-deliver-at`: the message to send on if it came early, or
    /// `nil` when it is due.
    public func nextHop(for delivery: AMQPDelivery, now: Date = Date()) -> AMQPOutgoingMessage? {
        guard case .integer(let deliverAt)? = delivery.headers[EnvelopeHeader.deliverAt] else { return nil }
        let remaining = Duration.milliseconds(deliverAt - WireTime.milliseconds(now))
        guard remaining >= levels[0] / 2 else { return nil }
        // Dead-lettering kept the routing key the message was scheduled with: its destination.
        let message = AMQPOutgoingMessage(
            exchange: workExchange, routingKey: delivery.routingKey, body: delivery.body, messageID: delivery.messageID,
            contentType: delivery.contentType, type: delivery.type, correlationID: delivery.correlationID,
            headers: delivery.headers)
        return route(message, remaining: remaining)
    }

    /// The level a message with `remaining` to wait goes to next, or `nil` when it is due: the
    /// level just above within ``tolerance(for:)``, else the largest that fits.
    public func level(for remaining: Duration) -> Duration? {
        guard remaining >= levels[0] / 2 else { return nil }
        return levels.first { $0 >= remaining && $0 - remaining <= tolerance(for: remaining) }
            ?? levels.last { $0 <= remaining } ?? levels[0]
    }

    private func route(_ message: AMQPOutgoingMessage, remaining: Duration) -> AMQPOutgoingMessage {
        guard let level = level(for: remaining) else { return message }
        var message = message
        message.exchange = queueName(for: level)
        return message
    }

    /// `90s` → `1m30s`, `4h` → `4h`, `500ms` → `500ms`.
    public static func compact(_ duration: Duration) -> String {
        var milliseconds = duration.wholeMilliseconds
        var text = ""
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where milliseconds >= size {
            text += "\(milliseconds / size)\(unit)"
            milliseconds %= size
        }
        if milliseconds > 0 || text.isEmpty { text += "\(milliseconds)ms" }
        return text
    }

    /// Parses `1s,5s,4h,1h30m,500ms` (the `MESSAGING_DELAY_LEVELS` format).
    public static func parseLevels(_ text: String) -> [Duration]? {
        var levels: [Duration] = []
        for item in text.split(separator: ",") {
            guard let level = parseDuration(item.trimmingCharacters(in: .whitespaces)), level > .zero else { return nil }
            levels.append(level)
        }
        return levels.isEmpty ? nil : levels
    }

    /// `250ms`, `5s`, `2m`, `4h`, `1d`, or a combination (`1h30m`); a bare number is milliseconds.
    public static func parseDuration(_ text: String) -> Duration? {
        if let milliseconds = Int64(text) { return milliseconds >= 0 ? .milliseconds(milliseconds) : nil }
        var total: Int64 = 0
        var number = ""
        var rest = Substring(text)
        while let character = rest.first {
            if character.isNumber {
                number.append(character)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Int64(number) else { return nil }
            number = ""
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
            guard let (unit, size) = units.first(where: { rest.hasPrefix($0.0) && !(rest.hasPrefix("ms") && $0.0 == "m") }) else { return nil }
            total += value * size
            rest = rest.dropFirst(unit.count)
        }
        return number.isEmpty && !text.isEmpty ? .milliseconds(total) : nil
    }
}
