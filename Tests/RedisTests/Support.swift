
import Foundation
import Logging
import Redis

enum TestRedis {
    static var configuration: RedisConfiguration {
        get throws {
            try RedisConfiguration(url: ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379")
        }
    }

    static func makePool(maximumConnections: Int = 16) throws -> RedisPool {
        var configuration = try configuration
        configuration.maximumConnections = maximumConnections
        return RedisPool(configuration: configuration, logger: Logger(label: "emporium.tests.redis"))
    }

    /// A key prefix of the test's own, so tests never see each other's keys.
    static func prefix() -> String { "test:\(UUID().uuidString):" }
}
