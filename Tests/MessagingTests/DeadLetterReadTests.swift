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
}
