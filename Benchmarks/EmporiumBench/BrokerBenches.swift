import AMQP
import ArgumentParser
import Foundation
import Kafka
import Logging

let quietLogger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

/// Produces `messages` keyed messages of `size` bytes with up to `inFlight` sends awaiting their
/// delivery reports at once; the same load as `kcat -P` on the same topic.
struct KafkaProduceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka-produce")
    @Option var bootstrap: String
    @Option var topic: String
    @Option var messages = 200_000
    @Option var size = 200
    @Option(help: "Messages per batch; two batches are in flight, as kcat keeps up to librdkafka's 100,000 queued.")
    var inFlight = 50_000

    func run() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        configuration.linger = .milliseconds(5)
        let producer = try KafkaProducer.make(configuration: configuration, logger: quietLogger)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let total = messages
        let window = inFlight
        // Built before the clock starts, as kcat reads a prepared file: a value of its own per
        // message (kcat's lines are distinct too; one shared array would make every send contend
        // on its reference count), cut into the batches that will be sent.
        let batches = stride(from: 0, to: total, by: window).map { start in
            (start..<min(total, start + window)).map { KafkaOutgoingMessage(topic: topic, key: Array("key-\($0)".utf8), value: [UInt8](repeating: UInt8(ascii: "x"), count: size)) }
        }
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            // Connections to every partition leader before the clock starts (librdkafka connects
            // to brokers as partitions need them, about a second apart).
            try await producer.send((0..<1_000).map { KafkaOutgoingMessage(topic: topic, key: Array("warm-up-\($0)".utf8), value: value) })
            let started = ContinuousClock.now
            // Batches of `inFlight`, two in flight at a time, so the client's queue never runs dry.
            try await withThrowingTaskGroup(of: Void.self) { sends in
                for (number, batch) in batches.enumerated() {
                    if number >= 2 { try await sends.next() }
                    sends.addTask { try await producer.send(batch) }
                }
                try await sends.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            group.cancelAll()
            return elapsed
        }
        report(name: "kafka produce", value: Double(total) / elapsed.seconds, unit: "msg/s")
    }
}

/// Consumes `messages` from the beginning of `topic` in a fresh group, timed from the first
/// message to the last (the group join is left out, as it is for the reference).
struct KafkaConsumeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka-consume")
    @Option var bootstrap: String
    @Option var topic: String
    @Option var messages = 200_000

    func run() async throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap], groupID: "bench-\(UUID())")
        configuration.sessionTimeout = .seconds(6)
        configuration.bufferedMessages = 10_000
        let consumer = try await KafkaConsumer.make(configuration: configuration, topics: [topic], logger: quietLogger)
        let total = messages
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            var received = 0
            var started: ContinuousClock.Instant?
            for try await _ in consumer.messages {
                if started == nil { started = .now }
                received += 1
                if received == total { break }
            }
            let elapsed = ContinuousClock.now - started!
            group.cancelAll()
            return elapsed
        }
        report(name: "kafka consume", value: Double(total - 1) / elapsed.seconds, unit: "msg/s")
    }
}

private func amqpConnection(queue: String) throws -> AMQPConnection {
    let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672"
    return try AMQPConnection(
        configuration: try AMQPConfiguration(url: url, key: "AMQP_URL"),
        topology: AMQPTopology(queues: [AMQPQueue(name: queue)]), logger: quietLogger)
}

/// Publishes persistent messages with confirms, `batch` at a time, like `amqp_reference publish`.
struct AMQPPublishBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "amqp-publish")
    @Option var queue: String
    @Option var count = 100_000
    @Option var size = 100
    @Option var batch = 1_000

    func run() async throws {
        let connection = try amqpConnection(queue: queue)
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let (total, batchSize, queue) = (count, batch, queue)
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            try await connection.declare(AMQPTopology(queues: [AMQPQueue(name: queue)]))
            let started = ContinuousClock.now
            var sent = 0
            while sent < total {
                let size = min(batchSize, total - sent)
                try await connection.publish((0..<size).map { _ in
                    AMQPOutgoingMessage(exchange: "", routingKey: queue, body: body, messageID: "", mandatory: false)
                })
                sent += size
            }
            let elapsed = ContinuousClock.now - started
            group.cancelAll()
            return elapsed
        }
        report(name: "amqp publish", value: Double(total) / elapsed.seconds, unit: "msg/s")
    }
}

/// Consumes and acks every message with a prefetch, like `amqp_reference consume`.
struct AMQPConsumeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "amqp-consume")
    @Option var queue: String
    @Option var count = 100_000
    @Option var prefetch = 1_000

    func run() async throws {
        let connection = try amqpConnection(queue: queue)
        let (total, prefetch, queue) = (count, prefetch, queue)
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            var received = 0
            var started: ContinuousClock.Instant?
            for try await delivery in connection.consume(queue: queue, prefetch: prefetch) {
                if started == nil { started = .now }
                try delivery.ack()
                received += 1
                if received == total { break }
            }
            let elapsed = ContinuousClock.now - started!
            group.cancelAll()
            return elapsed
        }
        report(name: "amqp consume", value: Double(total) / elapsed.seconds, unit: "msg/s")
    }
}
