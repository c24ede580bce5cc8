public import Logging
public import ServiceLifecycle

/// A service that deletes what has outlived its use, every `interval` until shutdown: each pass
/// is ``purgeOnce()``; a failed pass is logged and the next one tries again.
public protocol PeriodicPurge: Service {
    var interval: Duration { get }
    var logger: Logger { get }
    /// What is purged, for the log (`unverified accounts`, `idle carts`).
    var purged: String { get }
    /// One pass; how many rows it changed.
    @discardableResult
    func purgeOnce() async throws -> Int
}

extension PeriodicPurge {
    public func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                let count = try await purgeOnce()
                if count > 0 { logger.info("purged \(purged)", metadata: ["purge.count": "\(count)"]) }
            } catch {
                logger.warning("purging \(purged) failed; trying again later", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `body`, then waits `interval`, again and again until graceful shutdown or cancellation
/// (a shutdown ends the wait at once).
public func repeatUntilShutdown(every interval: Duration, _ body: () async -> Void) async {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        await body()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}
