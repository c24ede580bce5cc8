import AMQP
import ConnectionPool
import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Testing

/// Reading a RabbitMQ dead-letter queue leaves its messages unsettled until the reading
/// connection closes. A loop that reads again and again (the chaos run's drain does, every 5 s)
/// must read on a connection of its own each time; on one shared connection the second read saw
/// nothing, and the chaos run reported poison messages as lost while they sat in the queue.
@Suite("Dead-letter reads", .timeLimit(.minutes(2)), .usesRabbitMQ)
struct DeadLetterReadTests {
    @Test("each read on a connection of its own sees every letter; a second read on a shared connection sees none")
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
            // The pitfall the helper avoids: the first read's deliveries stay with its connection.
            let shared = try AMQPConnection(configuration: configuration, logger: logger)
            let (first, second) = try await withRunning([shared], logger: logger) {
                let letters = AMQPDeadLetters(queue: queue, connection: shared, workExchange: "", logger: logger)
                return (try await letters.read().count, try await letters.read().count)
            }
            #expect(first == 2 && second == 0)
            try await admin.deleteQueue(queue)
        }
    }
}
