import AMQP
import ConnectionPool
import EmporiumTestSupport
import Foundation
import Messaging
import MessagingConformance
import Testing

/// Delayed messages across a broker restart. A restarted RabbitMQ recovers its queues before its
/// exchanges, so a delay queue's dead-letter worker can find the due exchange missing and park
/// what came due during the outage until its publisher-confirm time-out (180 s by default, reset
/// by every restart): a chaos run (seed 4004) saw every timer of six minutes delivered 12 minutes
/// late. The local broker is configured to try again after 5 s (deploy/local/services.sh).
@Suite("Delays across a broker restart", .serialized, .timeLimit(.minutes(5)))
struct DelayRecoveryTests {
    @Test("the broker retries parked dead letters within seconds, not minutes", .usesRabbitMQ)
    func parkedDeadLettersRetrySoon() async throws {
        let output = try await ChildProcess.shell(
            "bash '\(ServicesScript.path)' rabbitmqctl eval 'application:get_env(rabbit, dead_letter_worker_publisher_confirm_timeout).'",
            timeout: .seconds(60))
        let milliseconds = output.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.first
        #expect(milliseconds.map { $0 <= 10_000 } == true, "dead_letter_worker_publisher_confirm_timeout: \(output)")
    }

    @Test("a delayed message that comes due while the broker restarts arrives soon after it is back", .restartsRabbitMQ)
    func dueDuringRestart() async throws {
        let id = UUID().uuidString.lowercased().prefix(8)
        let delays = try AMQPDelays(levels: [.seconds(1)], workExchange: "test.\(id).work", prefix: "test.\(id).delay")
        let target = "test.\(id).target"
        var topology = delays.topology
        topology.queues.append(AMQPQueue(name: target, kind: .quorum))
        topology.bindings.append(AMQPBinding(queue: target, exchange: delays.dueExchange, routingKey: target))
        let connection = try AMQPConnection(configuration: try ConformanceFixture.amqp, topology: topology, logger: ConformanceFixture.logger)
        try await withRunning([connection], logger: ConformanceFixture.logger) {
            let message = AMQPOutgoingMessage(exchange: delays.workExchange, routingKey: target, body: Array("due".utf8), messageID: "due-\(id)")
            try await connection.publish(delays.schedule(message, after: .seconds(1)))
            try await ServicesScript.run("rabbitmq-restart")
            let back = ContinuousClock.now
            var deliveries = connection.consume(queue: target, prefetch: 1).makeAsyncIterator()
            let delivery = try #require(try await deliveries.next())
            #expect(delivery.messageID == "due-\(id)")
            try delivery.ack()
            // Generous against a loaded machine, and well under the 180 s a parked message waited.
            #expect(ContinuousClock.now - back < .seconds(60))
            for queue in [target, delays.unroutedQueue] + delays.queueNames { try? await connection.deleteQueue(queue) }
        }
    }
}
