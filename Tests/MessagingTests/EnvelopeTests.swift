import AMQP
import Foundation
@testable import Kafka
@testable import Messaging
import MessagingConformance
import Testing

@Suite("Envelope")
struct EnvelopeTests {
    let envelope = MessageEnvelope(
        type: "order.created", schemaVersion: 2, occurredAt: Date(timeIntervalSince1970: 1_790_000_000.25), key: "order-42",
        correlationID: "request-7", causationID: "cause-1", traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        body: Array(#"{"id":42}"#.utf8))

    func consumed(_ outgoing: KafkaOutgoingMessage, offset: Int64 = 0) -> KafkaMessage {
        KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: outgoing.topic, partition: 0), offset: offset, key: outgoing.key,
            value: outgoing.value, headers: outgoing.headers, timestamp: nil)
    }

    @Test("Kafka: headers plus key and value carry every field, and read back the same")
    func kafkaRoundTrip() throws {
        let outgoing = envelope.kafkaMessage(topic: "order")
        #expect(outgoing.key.map { String(decoding: $0, as: UTF8.self) } == "order-42")
        let names = Set(outgoing.headers.map(\.name))
        #expect(names.isSuperset(of: ["message-id", "message-type", "schema-version", "occurred-at", "correlation-id", "causation-id", "traceparent"]))
        let read = try MessageEnvelope(kafka: consumed(outgoing))
        #expect(read == envelope)
    }

    @Test("Kafka: only message-id and message-type are required; the rest default")
    func kafkaDefaults() throws {
        let id = UUID()
        let message = KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: "order", partition: 0), offset: 0, key: Array("k".utf8), value: Array("{}".utf8),
            headers: [KafkaHeader(name: "message-id", value: id.uuidString), KafkaHeader(name: "message-type", value: "order.paid")],
            timestamp: 1_790_000_000_000)
        let read = try MessageEnvelope(kafka: message)
        #expect(read.id == id)
        #expect(read.schemaVersion == 1)
        #expect(read.correlationID == id.uuidString.lowercased())
        #expect(read.occurredAt == Date(timeIntervalSince1970: 1_790_000_000))
        #expect(read.key == "k")
    }

    @Test("a missing or malformed envelope header is a poison message naming the header", arguments: [
        ("message-id", nil, "missing header message-id"),
        ("message-id", "42", "message-id is not a UUID"),
        ("message-type", nil, "missing header message-type"),
        ("schema-version", "two", "schema-version is not a positive integer"),
        ("occurred-at", "yesterday", "occurred-at is not an RFC 3339 time"),
    ] as [(String, String?, String)])
    func poison(header: String, value: String?, message: String) throws {
        var headers = envelope.kafkaMessage(topic: "order").headers.filter { $0.name != header }
        if let value { headers.append(KafkaHeader(name: header, value: value)) }
        var outgoing = envelope.kafkaMessage(topic: "order")
        outgoing.headers = headers
        let error = #expect(throws: MessagingError.self) { try MessageEnvelope(kafka: consumed(outgoing)) }
        #expect(error?.code == .poisonMessage)
        #expect(error?.message.contains(message) == true)
        #expect(error.map { !HandlingFailure($0).isRetriable } == true)
    }

    @Test("AMQP: properties and headers carry every field")
    func amqpFields() {
        let outgoing = envelope.amqpMessage(exchange: "emporium.work", routingKey: "mail.send")
        #expect(outgoing.messageID == envelope.idString)
        #expect(outgoing.type == "order.created")
        #expect(outgoing.correlationID == "request-7")
        #expect(outgoing.contentType == "application/json")
        #expect(outgoing.headers["schema-version"] == .integer(2))
        #expect(outgoing.headers["message-key"] == .string("order-42"))
        #expect(outgoing.headers["causation-id"] == .string("cause-1"))
        #expect(outgoing.headers["traceparent"] == .string(envelope.traceParent!))
        #expect(outgoing.headers["occurred-at"] == .string("2026-09-21T14:13:20.250Z"))
    }

    @Test("a typed payload encodes to JSON and decodes through a handler; a body of the wrong shape is poison")
    func payloadDecoding() throws {
        let typed = try MessageEnvelope(ConformanceEvent(sequence: 5), key: "k")
        #expect(typed.type == ConformanceEvent.messageType)
        #expect(String(decoding: typed.body, as: UTF8.self) == #"{"sequence":5}"#)
        #expect(try MessageJSON.decode(ConformanceEvent.self, from: typed.body) == ConformanceEvent(sequence: 5))
    }
}

@Suite("Delay levels and retry policy")
struct DelayAndRetryTests {
    let delays = try! AMQPDelays(levels: [.seconds(1), .seconds(5), .seconds(30), .seconds(4 * 3600)], workExchange: "work", prefix: "delay")

    func message() -> AMQPOutgoingMessage {
        AMQPOutgoingMessage(exchange: "", routingKey: "order.expiry", body: [], messageID: "m")
    }

    @Test("each level is a fanout exchange and a quorum queue whose TTL dead-letters, at least once, into the due exchange")
    func topology() {
        let topology = delays.topology
        #expect(topology.exchanges.map(\.name) == ["work", "work.unrouted", "work.due", "delay.1s", "delay.5s", "delay.30s", "delay.4h"])
        #expect(topology.exchanges.first { $0.name == "work.due" }?.alternateExchange == "work.unrouted")
        let queue = topology.queues.first { $0.name == "delay.4h" }
        #expect(queue?.kind == .quorum)
        #expect(queue?.messageTTL == .seconds(4 * 3600))
        #expect(queue?.deadLetterExchange == "work.due")
        #expect(queue?.deadLetterRoutingKey == nil)
        #expect(queue?.extraArguments["x-dead-letter-strategy"] == .string("at-least-once"))
    }

    @Test("a delay goes to the largest level that fits and carries its due time; a short one goes straight")
    func scheduling() throws {
        let now = Date(timeIntervalSince1970: 1_000)
        let scheduled = delays.schedule(message(), after: .seconds(37), now: now)
        #expect(scheduled.exchange == "delay.30s")
        #expect(scheduled.routingKey == "order.expiry")
        #expect(scheduled.headers[EnvelopeHeader.deliverAt] == .integer(1_037_000))
        #expect(delays.schedule(message(), after: .milliseconds(400), now: now).exchange == "work")
        #expect(delays.schedule(message(), after: .zero, now: now).exchange == "work")
    }

    @Test("durations and level lists parse; nonsense does not")
    func parsing() {
        #expect(AMQPDelays.parseDuration("1h30m") == .seconds(5400))
        #expect(AMQPDelays.parseDuration("250ms") == .milliseconds(250))
        #expect(AMQPDelays.parseDuration("1500") == .milliseconds(1500))
        #expect(AMQPDelays.parseDuration("2d") == .seconds(172_800))
        #expect(AMQPDelays.parseDuration("5 minutes") == nil)
        #expect(AMQPDelays.parseDuration("h") == nil)
        #expect(AMQPDelays.parseLevels("1s,30s,4h") == [.seconds(1), .seconds(30), .seconds(14_400)])
        #expect(AMQPDelays.parseLevels("1s,,x") == nil)
        #expect(AMQPDelays.compact(.seconds(5400)) == "1h30m")
        #expect(AMQPDelays.compact(.milliseconds(500)) == "500ms")
    }

    @Test("backoff grows exponentially within its jitter and stops at the maximum; attempts are bounded")
    func retryPolicy() {
        let policy = RetryPolicy(maximumAttempts: 4, initialDelay: .milliseconds(100), maximumDelay: .seconds(1), multiplier: 2, jitter: 0.2)
        for _ in 0..<200 {
            let first = policy.delay(after: 1)
            let third = policy.delay(after: 3)
            let tenth = policy.delay(after: 10)
            #expect(first >= .milliseconds(80) && first <= .milliseconds(120))
            #expect(third >= .milliseconds(320) && third <= .milliseconds(480))
            #expect(tenth >= .milliseconds(800) && tenth <= .milliseconds(1200))
        }
        #expect(policy.allowsRetry(after: 3))
        #expect(!policy.allowsRetry(after: 4))
    }

    @Test("a retry schedule sets each wait and the number of tries")
    func retrySchedule() {
        let policy = RetryPolicy(schedule: [.seconds(10), .seconds(60), .seconds(300), .seconds(1800)], jitter: 0.1)
        #expect(policy.maximumAttempts == 5)
        #expect(policy.allowsRetry(after: 4) && !policy.allowsRetry(after: 5))
        for (attempt, seconds) in [(1, 10.0), (2, 60.0), (3, 300.0), (4, 1800.0)] {
            let delay = Double(policy.delay(after: attempt).components.seconds)
            #expect(delay >= seconds * 0.9 - 1 && delay <= seconds * 1.1, "attempt \(attempt): \(delay) s")
        }
    }
}

@Suite("W3C trace context")
struct TraceParentTests {
    @Test("valid traceparents parse; invalid ones are ignored; children keep the trace")
    func parseAndContinue() throws {
        let parent = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(parent.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && parent.spanID == "00f067aa0ba902b7" && parent.flags == "01")
        for invalid in [
            "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n",
        ] {
            #expect(TraceParent(invalid) == nil, "\(invalid)")
        }
        // A later version may add fields; surrounding blanks are ignored.
        #expect(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds")?.flags == "01")
        #expect(TraceParent(" \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ") == parent)
        #expect(TraceParent("\u{200B}00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{2009}") == parent)
        // The dash after the flags is a byte of its own, even before a combining mark.
        #expect(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-\u{301}") != nil)
        let child = TraceParent.continuing(parent.description)
        #expect(child.traceID == parent.traceID && child.spanID != parent.spanID && child.flags == "01")
        let fresh = TraceParent.continuing("garbage")
        #expect(fresh.traceID != parent.traceID && TraceParent(fresh.description) == fresh)
        #expect(fresh.traceID.count == 32 && fresh.spanID.count == 16 && fresh.description.count == 55)
    }
}
