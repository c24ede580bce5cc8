import EmporiumTestSupport
import AMQP
import Foundation
import Logging

enum TestAMQP {
    static let logger: Logger = {
        var logger = Logger(label: "emporium.tests.amqp")
        logger.logLevel = .warning
        return logger
    }()

    static var configuration: AMQPConfiguration {
        get throws {
            try AMQPConfiguration(url: ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672")
        }
    }

    /// A queue name of the test's own.
    static func queueName(_ label: String) -> String { "test.\(label).\(UUID().uuidString)" }
}
