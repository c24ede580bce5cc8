import EmporiumTestSupport
@testable import AMQP
import Foundation
import Testing

@Suite("AMQP", .timeLimit(.minutes(1)), .usesRabbitMQ)
struct AMQPTests {
    @Test("a server refusal is worth retrying only when it reports the server's own trouble (320, 506, 541)")
    func serverRefusalsClassified() {
        let transient: [Int32] = [320, 506, 541]
        for code: Int32 in [320, 403, 404, 405, 406, 506, 530, 541] {
            let error = AMQPError(.server, "declare queue q: \(code)", nativeCode: code)
            #expect(error.isRetriable == transient.contains(code), "reply code \(code)")
        }
        #expect(!AMQPError(.server, "server exception").isRetriable)
    }

    @Test("publish with confirms, then consume and ack, keeping properties and headers")
    func publishAndConsume() async throws {
        let queue = TestAMQP.queueName("work")
        let connection = try AMQPConnection(
            configuration: try TestAMQP.configuration, topology: AMQPTopology(queues: [AMQPQueue(name: queue)]), logger: TestAMQP.logger)
        try await withRunning([connection]) {
            let messages = (0..<50).map { index in
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue, body: Array("body \(index) ✓".utf8), messageID: "m-\(index)",
                    contentType: "application/json", type: "order.created",
                    headers: ["attempt": .integer(Int64(index)), "origin": .string("test"), "replay": .boolean(false)])
            }
            try await connection.publish(messages[0])
            try await connection.publish(Array(messages[1...]))
            var received: [AMQPDelivery] = []
            for try await delivery in connection.consume(queue: queue, prefetch: 10) {
                received.append(delivery)
                try delivery.ack()
                if received.count == 50 { break }
            }
            #expect(received.map(\.messageID) == (0..<50).map { "m-\($0)" })
            #expect(received.map(\.bodyString) == (0..<50).map { "body \($0) ✓" })
            #expect(received.allSatisfy { $0.type == "order.created" && $0.contentType == "application/json" })
            #expect(received[7].headers["attempt"] == .integer(7))
            #expect(received[7].headers["origin"] == .string("test"))
            #expect(received[7].headers["replay"] == .boolean(false))
            #expect(received.allSatisfy { !$0.redelivered && $0.lastDeath == nil })
            try await connection.deleteQueue(queue)
        }
    }

    @Test("a message in a TTL delay queue arrives in the work queue after its delay")
    func delayQueue() async throws {
        let work = TestAMQP.queueName("work")
        let delay = TestAMQP.queueName("delay-1s")
        let topology = AMQPTopology(queues: [
            AMQPQueue(name: work),
            AMQPQueue(name: delay, messageTTL: .seconds(1), deadLetterExchange: "", deadLetterRoutingKey: work),
        ])
        let connection = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        try await withRunning([connection]) {
            let deliveries = connection.consume(queue: work, prefetch: 1)
            let sent = ContinuousClock.now
            try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: delay, body: Array("later".utf8)))
            var iterator = deliveries.makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            let waited = ContinuousClock.now - sent
            #expect(delivery.bodyString == "later")
            #expect(delivery.lastDeath == AMQPDeath(queue: delay, reason: "expired"))
            #expect(waited >= .milliseconds(900))
            #expect(waited < .seconds(10))
            try delivery.ack()
            try await connection.deleteQueue(delay)
            try await connection.deleteQueue(work)
        }
    }

    @Test("a quorum queue with a delivery limit dead-letters a message nacked with requeue")
    func deliveryLimit() async throws {
        let queue = TestAMQP.queueName("limited")
        let deadLetters = queue + ".dlq"
        let topology = AMQPTopology(queues: [
            AMQPQueue(name: deadLetters),
            AMQPQueue(name: queue, deadLetterExchange: "", deadLetterRoutingKey: deadLetters, deliveryLimit: 2),
        ])
        let connection = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        try await withRunning([connection]) {
            try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array("poison".utf8), messageID: "poison-1"))
            let deadLettered = connection.consume(queue: deadLetters, prefetch: 1)
            var attempts = 0
            for try await delivery in connection.consume(queue: queue, prefetch: 1) {
                attempts += 1
                try delivery.nack(requeue: true)
                if attempts == 3 { break }
            }
            var iterator = deadLettered.makeAsyncIterator()
            let dead = try #require(try await iterator.next())
            #expect(dead.messageID == "poison-1")
            #expect(dead.bodyString == "poison")
            #expect(dead.lastDeath == AMQPDeath(queue: queue, reason: "delivery_limit"))
            try dead.ack()
            try await connection.deleteQueue(queue)
            try await connection.deleteQueue(deadLetters)
        }
    }

    @Test("an unroutable mandatory message is an error, not a silent loss")
    func returned() async throws {
        let connection = try AMQPConnection(configuration: try TestAMQP.configuration, logger: TestAMQP.logger)
        try await withRunning([connection]) {
            let error = try await #require(throws: AMQPError.self) {
                try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: "no-such-queue-\(UUID())", body: [1]))
            }
            #expect(error.code == .returned)
            #expect(error.message.contains("NO_ROUTE"))
        }
    }

    @Test("a command the server answers by closing the channel fails, and the connection carries on")
    func channelClosedByServer() async throws {
        let connection = try AMQPConnection(configuration: try TestAMQP.configuration, logger: TestAMQP.logger)
        let queue = TestAMQP.queueName("after-channel-close")
        try await withRunning([connection]) {
            // A passive declare of a missing queue: the server closes the channel (404).
            for _ in 0..<2 {
                let error = try await #require(throws: AMQPError.self) {
                    try await connection.messageCount(queue: "no-such-queue-\(UUID())")
                }
                #expect(error.code == .server)
                #expect(error.message.contains("404"))
            }
            // Everything after it still works (it used to wait for ever on the closed channel).
            try await connection.declare(AMQPTopology(queues: [AMQPQueue(name: queue, kind: .classic)]))
            try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: [1]))
            let counted = try await eventually(timeout: .seconds(5)) { try await connection.messageCount(queue: queue) == 1 }
            #expect(counted)
            try await connection.deleteQueue(queue)
        }
    }

    @Test("wrong credentials, an unknown vhost and a closed port fail the publish promptly, naming the server")
    func badConnections() async throws {
        var wrongPassword = try TestAMQP.configuration
        wrongPassword.password = "wrong"
        var wrongVhost = try TestAMQP.configuration
        wrongVhost.virtualHost = "no-such-vhost"
        var closedPort = try TestAMQP.configuration
        closedPort.port = 1
        for configuration in [wrongPassword, wrongVhost, closedPort] {
            let connection = try AMQPConnection(configuration: configuration, logger: TestAMQP.logger)
            try await withRunning([connection]) {
                let started = ContinuousClock.now
                let error = try await #require(throws: AMQPError.self) {
                    try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: "x", body: [1]))
                }
                #expect(error.message.contains(configuration.address))
                // The bound is for a hang or a retry loop, with margin for a machine busy with the suite.
                #expect(ContinuousClock.now - started < .seconds(30))
            }
        }
        let trailingSlash = try #require(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://u:p@localhost:5672/", key: "AMQP_URL") }
        #expect(trailingSlash.message.contains("AMQP_URL"))
    }
}

/// Tests that restart the broker run one at a time, apart from the rest.
@Suite("AMQP recovery and shutdown", .serialized, .timeLimit(.minutes(5)))
struct AMQPRecoveryTests {
    @Test("graceful shutdown right after acking loses no ack (quorum queue, 5,000 messages)", .usesRabbitMQ)
    func noLostAcks() async throws {
        let queue = TestAMQP.queueName("acks")
        let topology = AMQPTopology(queues: [AMQPQueue(name: queue)])
        let publisher = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        let count = 5_000
        try await withRunning([publisher]) {
            for start in stride(from: 0, to: count, by: 1_000) {
                try await publisher.publish((start..<start + 1_000).map {
                    AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array("\($0)".utf8))
                })
            }
        }
        let consumer = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        try await withRunning([consumer]) {
            var acked = 0
            for try await delivery in consumer.consume(queue: queue, prefetch: 1_000) {
                try delivery.ack()
                acked += 1
                if acked == count { break }
            }
        }
        let checker = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        try await withRunning([checker]) {
            // Redelivered messages would show up as ready again.
            var ready = 0
            for _ in 0..<10 {
                ready = try await checker.messageCount(queue: queue)
                if ready > 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(ready == 0)
            try await checker.deleteQueue(queue)
        }
    }

    @Test("a draining connection hands out no buffered delivery: the one in hand is acked, the rest go back to the queue", .usesRabbitMQ)
    func drainClosesIntake() async throws {
        let queue = TestAMQP.queueName("intake")
        let topology = AMQPTopology(queues: [AMQPQueue(name: queue)])
        let connection = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        let runner = Task { try await connection.run() }
        try await connection.publish((0..<20).map { AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array("\($0)".utf8)) })
        var deliveries = connection.consume(queue: queue, prefetch: 20).makeAsyncIterator()
        let inHand = try #require(try await deliveries.next())
        // Every message is with this consumer (none ready on the broker): 19 wait in the stream.
        #expect(try await eventually { try await connection.messageCount(queue: queue) == 0 })

        runner.cancel()
        // The drain waits (up to its time-out) for the one in hand; once it has begun, the stream
        // gives out nothing more, though 19 are buffered.
        #expect(try await eventually(timeout: .seconds(30)) { !connection.intake.isOpen })
        #expect(try await deliveries.next() == nil)
        try inHand.ack()
        try await runner.value

        let checker = try AMQPConnection(configuration: try TestAMQP.configuration, topology: topology, logger: TestAMQP.logger)
        try await withRunning([checker]) {
            #expect(try await eventually { try await checker.messageCount(queue: queue) == 19 })
            try await checker.deleteQueue(queue)
        }
    }

    @Test("the connection survives a RabbitMQ restart: reconnects, re-declares, resumes consuming, loses nothing confirmed", .restartsRabbitMQ)
    func survivesRestart() async throws {
        let queue = TestAMQP.queueName("restart")
        let connection = try AMQPConnection(
            configuration: try TestAMQP.configuration, topology: AMQPTopology(queues: [AMQPQueue(name: queue)]), logger: TestAMQP.logger)
        try await withRunning([connection]) {
            let deliveries = connection.consume(queue: queue, prefetch: 10)
            var iterator = deliveries.makeAsyncIterator()
            try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array("before".utf8)))
            let before = try #require(try await iterator.next())
            #expect(before.bodyString == "before")
            try before.ack()

            try await ServicesScript.run("rabbitmq-restart")

            // Publishing fails (retriably) until the connection is back; a confirmed one is kept.
            var confirmed: [String] = []
            for index in 0..<5 {
                let body = "after \(index)"
                for attempt in 0..<100 {
                    do {
                        try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Array(body.utf8)))
                        confirmed.append(body)
                        break
                    } catch let error as AMQPError where error.isRetriable && attempt < 99 {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            #expect(confirmed.count == 5)
            var received: [String] = []
            while received.count < confirmed.count, let delivery = try await iterator.next() {
                received.append(delivery.bodyString)
                try delivery.ack()
            }
            #expect(received == confirmed)
            try await connection.deleteQueue(queue)
        }
    }
}
