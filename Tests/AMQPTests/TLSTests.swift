@testable import AMQP
import ConnectionPool
import EmporiumTestSupport
import Foundation
import Testing

/// AMQP over TLS (`amqps://`) against the local RabbitMQ's TLS listener (5671), whose certificate
/// comes from the checkout's own CA (deploy/local/services.sh). The listener takes TLS only, so a
/// connection that works there is a TLS one. The URL names the host `localhost`: rabbitmq-c checks
/// the certificate's DNS names, not its IP addresses.
@Suite("AMQP over TLS", .timeLimit(.minutes(1)), .usesRabbitMQ)
struct AMQPTLSTests {
    static var url: String {
        get throws {
            try #require(ProcessInfo.processInfo.environment["AMQP_TLS_URL"], "AMQP_TLS_URL is not set: eval \"$(bash deploy/local/services.sh env)\"")
        }
    }

    @Test("amqps:// with the CA that signed the server's certificate: publish with confirms, consume, ack")
    func publishAndConsumeOverTLS() async throws {
        let queue = TestAMQP.queueName("tls")
        let configuration = try AMQPConfiguration(url: try Self.url, key: "AMQP_URL")
        #expect(configuration.port == 5671 && configuration.tls?.caFile != nil)
        let connection = try AMQPConnection(configuration: configuration, topology: AMQPTopology(queues: [AMQPQueue(name: queue)]), logger: TestAMQP.logger)
        try await withRunning([connection]) {
            // Larger than a TLS record (16 KiB): frames cross records.
            let body = Array(String(repeating: "tls ", count: 10_000).utf8)
            try await connection.publish((0..<20).map { AMQPOutgoingMessage(exchange: "", routingKey: queue, body: body, messageID: "m-\($0)") })
            var received: [AMQPDelivery] = []
            for try await delivery in connection.consume(queue: queue, prefetch: 5) {
                received.append(delivery)
                try delivery.ack()
                if received.count == 20 { break }
            }
            #expect(received.map(\.messageID) == (0..<20).map { "m-\($0)" })
            #expect(received.allSatisfy { $0.body == body })
            try await connection.deleteQueue(queue)
        }
    }

    @Test("a server whose certificate the configured CAs do not vouch for is refused, naming the server")
    func untrustedServerRefused() async throws {
        // Without cacertfile the system's CAs are used, which know nothing of the local CA.
        let url = try Self.url.components(separatedBy: "?")[0]
        let configuration = try AMQPConfiguration(url: url)
        let connection = try AMQPConnection(configuration: configuration, logger: TestAMQP.logger)
        try await withRunning([connection]) {
            let error = try await #require(throws: AMQPError.self) {
                try await connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: "x", body: [1]))
            }
            #expect(error.message.contains(configuration.address), "\(error.message)")
        }
    }

    @Test("TLS settings that cannot work stop start-up, naming the key")
    func badSettings() throws {
        let cases: [(String, String)] = [
            ("amqp://u:p@127.0.0.1?cacertfile=/etc/hostname", "TLS needs the amqps:// scheme"),
            ("amqps://u:p@127.0.0.1?cacertfile=/no/such/ca.pem", "cacertfile \"/no/such/ca.pem\" is not a readable file"),
            ("amqps://u:p@127.0.0.1?keyfile=/etc/hostname", "certfile and keyfile go together"),
            ("amqps://u:p@127.0.0.1?heartbeat=5", "unknown option \"heartbeat\""),
        ]
        for (url, expected) in cases {
            let error = try #require(throws: AMQPError.self) { try AMQPConfiguration(url: url, key: "AMQP_URL") }
            #expect(error.message.hasPrefix("AMQP_URL: ") && error.message.contains(expected), "\(url): \(error.message)")
        }
        #expect(try AMQPConfiguration(url: "amqps://u:p@127.0.0.1?verify=verify_none").tls == TLSSettings(verifyPeer: false))
        #expect(try AMQPConfiguration(url: "amqp://u:p@127.0.0.1").tls == nil)
    }
}
