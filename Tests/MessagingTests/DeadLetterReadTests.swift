import AMQP
import ConnectionPool
import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Testing

/// Reading a RabbitMQ dead-letter queue takes its messages and must give them all back: a loop
/// that reads again and again (the chaos run's drain does, every 5 s) must see every letter each
/// time. Letters left unsettled until the reading connection closed came back some time after the
/// close; on one shared connection the second read saw none, and under load a read right after
/// another, on a new connection, saw fewer than there were (CI, 2026-12-03).
@Suite("Dead-letter reads", .timeLimit(.minutes(2)), .usesRabbitMQ)
struct DeadLetterReadTests {
    @Test("reads one after another see every letter, each on a connection of its own or all on one")
    func repeatedReads() async throws {
        let queue = "test.\(UUID().uuidString.lowercased()).dlq"
        let configuration = try ConformanceFixture.amqp
        let logger = ConformanceFixture.logger
        let admin = try AMQPConnection(configuration: configuration, logger: logger)
        try await withRunning([admin], logger: logger) {
            try await admin.declare(AMQPTopology(queues: [AMQPQueue(name: queue, kind: .quorum)]))
            let ids = ["letter-1-\(UUID())", "letter-2-\(UUID())"]
            for id in ids {
                try await admin.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array("{}".utf8), messageID: id))
            }
            for _ in 1...3 {
                let letters = try await AMQPDeadLetters.withQueue(queue, configuration: configuration, workExchange: "", logger: logger) {
                    try await $0.read()
                }
                #expect(letters.compactMap(\.messageID) == ids)
            }
            let shared = try AMQPConnection(configuration: configuration, logger: logger)
            let reads = try await withRunning([shared], logger: logger) {
                let letters = AMQPDeadLetters(queue: queue, connection: shared, workExchange: "", logger: logger)
                var reads: [[String]] = []
                for _ in 1...3 { reads.append(try await letters.read().compactMap(\.messageID)) }
                return reads
            }
            #expect(reads == [ids, ids, ids])
            try await admin.deleteQueue(queue)
        }
    }

    /// Two queues that share a dead-letter queue (`<ns>.mail` and `<ns>.mail.codes` do): a letter
    /// the broker dead-lettered itself, at the delivery limit, carries no `x-origin-queue`, and
    /// the dead-letter queue's name points to the other queue. The message came through a delay
    /// queue first, as retries and timers do, so its first death names the delay queue.
    @Test("a letter the broker dead-lettered at its delivery limit names, and is replayed to, the queue it died in, also after a replay skipped it")
    func brokerDeadLetteredOrigin() async throws {
        let base = "test.\(UUID().uuidString.lowercased())"
        let lane = base + ".codes"
        let deadLetters = base + ".dlq"
        let delay = base + ".delay"
        let configuration = try ConformanceFixture.amqp
        let logger = ConformanceFixture.logger
        let admin = try AMQPConnection(configuration: configuration, logger: logger)
        try await withRunning([admin], logger: logger) {
            try await admin.declare(AMQPTopology(queues: [
                AMQPQueue(name: deadLetters, kind: .quorum),
                AMQPQueue(name: base, deadLetterExchange: "", deadLetterRoutingKey: deadLetters, deliveryLimit: 1),
                AMQPQueue(name: lane, deadLetterExchange: "", deadLetterRoutingKey: deadLetters, deliveryLimit: 1),
                AMQPQueue(name: delay, kind: .classic, messageTTL: .milliseconds(50), deadLetterExchange: "", deadLetterRoutingKey: lane),
            ]))
            let id = "code-\(UUID())"
            try await admin.publish(AMQPOutgoingMessage(exchange: "", routingKey: delay, body: Array("{}".utf8), messageID: id))
            var attempts = 0
            let refused = admin.consume(queue: lane, prefetch: 1)
            for try await delivery in refused {
                attempts += 1
                try delivery.nack(requeue: true)
                if attempts == 2 { break }
            }
            // Cancelled, or the replayed letter could come back to this consumer.
            try await refused.cancel()
            func withLetters<R: Sendable>(_ body: (AMQPDeadLetters) async throws -> R) async throws -> R {
                try await AMQPDeadLetters.withQueue(deadLetters, configuration: configuration, workExchange: "", logger: logger, body)
            }
            let letters = try await withLetters {
                try await $0.read()
            }
            #expect(letters.map(\.messageID) == [id])
            #expect(letters.first?.origin == lane)
            #expect(letters.first?.errorType == "delivery_limit")
            // A replay that skips it puts it back at the tail: a republished message loses
            // `x-death`, so where it died must go with it in headers of our own.
            let skipped = try await withLetters {
                try await $0.replay(ReplayOptions(filter: DeadLetterFilter(type: "no-such-type")), progress: { _ in }, audit: { _ in })
            }
            #expect(skipped.skipped == 1 && skipped.replayed == 0)
            let again = try await withLetters {
                try await $0.read()
            }
            #expect(again.map(\.messageID) == [id])
            #expect(again.first?.origin == lane)
            #expect(again.first?.errorType == "delivery_limit")
            let replayed = try await withLetters {
                try await $0.replay(ReplayOptions(), progress: { _ in }, audit: { _ in })
            }
            #expect(replayed.replayed == 1)
            // Wherever it went: the replay's publish was confirmed, so it is counted there.
            var counts = (lane: 0, base: 0)
            for _ in 0..<100 where counts.lane + counts.base == 0 {
                counts = (try await admin.messageCount(queue: lane), try await admin.messageCount(queue: base))
                if counts.lane + counts.base == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(counts.lane == 1 && counts.base == 0)
            if counts.lane == 1 {
                let back = admin.consume(queue: lane, prefetch: 1)
                var deliveries = back.makeAsyncIterator()
                let delivery = try #require(try await deliveries.next())
                #expect(delivery.messageID == id)
                // It starts afresh: no record of its deaths, ours or the broker's, goes with it.
                let stale = delivery.headers.keys.filter { EnvelopeHeader.deadLetterHeaders.union(AMQPDeath.headerNames).contains($0) }
                #expect(stale.isEmpty, "replayed with \(stale.sorted())")
                #expect(delivery.lastDeath == nil)
                try delivery.ack()
                try await back.cancel()
            }
            for queue in [base, lane, deadLetters, delay] { try await admin.deleteQueue(queue) }
        }
    }
}
