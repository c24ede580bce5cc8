public import Logging
public import ServiceLifecycle

/// Runs `services` in a service group while `body` runs, then shuts them down gracefully (tools
/// and tests that need a client only for a while).
@discardableResult
public func withRunning<R: Sendable>(
    _ services: [any Service], logger: Logger = Logger(label: "emporium"), _ body: () async throws -> R
) async throws -> R {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let serviceGroup = ServiceGroup(configuration: .init(services: services, logger: logger))
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
