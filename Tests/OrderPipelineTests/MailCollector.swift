import AMQP
import Contracts
import EmporiumTestSupport
import Foundation
import Synchronization

/// Drains the fleet's `mail.send` queue (no mail worker exists yet) and keeps what arrived, so a
/// test can ask which mails the broker carried for an order.
final class MailCollector: Sendable {
    let queue: String
    private let connection: AMQPConnection
    private let received = Mutex<[MailSend]>([])

    init(queue: String, exchange: String) throws {
        self.queue = queue
        let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672"
        connection = try AMQPConnection(configuration: try AMQPConfiguration(url: url), logger: PipelineFleet.logger)
    }

    /// Waits for the order worker to declare the queue, then consumes it in the background.
    func start() async throws {
        Task { try await connection.run() }
        let declared = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await self.connection.messageCount(queue: self.queue)) != nil
        }
        guard declared else { throw FleetFailure(description: "the order worker never declared \(queue)") }
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
