import AMQP
import Contracts
import EmporiumTestSupport
import Foundation
import Synchronization

/// Taps the fleet's `mail.send` commands: a queue of its own bound to the work exchange with the
/// same routing key as the mail worker's, so it sees every command the brokers carried to the
/// mail queue (retries go by the mail queue's name, so they are not seen twice) while the mail
/// worker sends them. Code mails go by `mail.send.code`: the tests read them from the SMTP catcher.
final class MailCollector: Sendable {
    let queue: String
    let exchange: String
    private let connection: AMQPConnection
    private let received = Mutex<[MailSend]>([])

    init(queue: String, exchange: String) throws {
        self.queue = queue
        self.exchange = exchange
        let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672"
        connection = try AMQPConnection(configuration: try AMQPConfiguration(url: url), logger: PipelineFleet.logger)
    }

    /// Waits for the workers to declare the work exchange, binds the tap, and consumes it in the background.
    func start() async throws {
        Task { try await connection.run() }
        let topology = AMQPTopology(
            queues: [AMQPQueue(name: queue, kind: .classic)],
            bindings: [AMQPBinding(queue: queue, exchange: exchange, routingKey: Destinations.mailKey)])
        let declared = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await self.connection.declare(topology)) != nil
        }
        guard declared else { throw FleetFailure(description: "the workers never declared \(exchange)") }
        let deliveries = connection.consume(queue: queue, prefetch: 200)
        Task {
            for try await delivery in deliveries {
                if let mail = try? JSONDecoder().decode(MailSend.self, from: Data(delivery.body)) {
                    received.withLock { $0.append(mail) }
                }
                try delivery.ack()
            }
        }
    }

    /// The mails for `orderID` so far, in arrival order.
    func mails(for orderID: UUID) -> [MailSend] {
        received.withLock { $0.filter { $0.orderID == orderID } }
    }

    func templates(for orderID: UUID) -> [String] {
        mails(for: orderID).map(\.template.rawValue)
    }
}
