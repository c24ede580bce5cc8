import AMQP
import Foundation
import Logging
import ServiceLifecycle

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

/// Runs `services` in the background while `body` runs, then shuts them down gracefully.
func withRunning<R: Sendable>(_ services: [any Service], _ body: () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let serviceGroup = ServiceGroup(configuration: .init(services: services, logger: TestAMQP.logger))
        group.addTask { try await serviceGroup.run() }
        do {
            let result = try await body()
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}
