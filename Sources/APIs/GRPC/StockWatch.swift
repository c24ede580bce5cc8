public import Catalog
import Foundation

/// What the process's WatchStock calls watch, read together: while any call watches, every
/// watched SKU's stock is read in one statement every ``interval``, and each call is sent the
/// levels that changed since it last heard (its first read: all of them). Nothing is added to
/// the write path (no trigger, no NOTIFY in the order pipeline's transactions); the price is a
/// delay of up to one interval, and one statement per interval per `emporium grpc` process.
public actor StockWatch {
    public struct Level: Sendable, Equatable {
        public var sku: String
        public var available: Int
        public var version: Int
        public var deleted: Bool
    }

    private struct Watcher {
        var skus: Set<String>
        var sent: [String: Level] = [:]
        let continuation: AsyncStream<[Level]>.Continuation
    }

    let catalog: CatalogStore
    let interval: Duration
    private var watchers: [UUID: Watcher] = [:]
    private var polling: Task<Void, Never>?

    public init(catalog: CatalogStore, interval: Duration = .milliseconds(500)) {
        self.catalog = catalog
        self.interval = interval
    }

    /// Batches of changed levels for `skus`, the first with every SKU's; ends when the caller
    /// stops iterating (its task cancelled).
    public func watch(_ skus: Set<String>) -> AsyncStream<[Level]> {
        let (stream, continuation) = AsyncStream<[Level]>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        watchers[id] = Watcher(skus: skus, continuation: continuation)
        continuation.onTermination = { _ in Task { await self.remove(id) } }
        if polling == nil {
            polling = Task { await self.poll() }
        }
        return stream
    }

    private func remove(_ id: UUID) {
        watchers[id] = nil
    }

    private func poll() async {
        while !watchers.isEmpty, !Task.isCancelled {
            let skus = watchers.values.reduce(into: Set<String>()) { $0.formUnion($1.skus) }
            if let products = try? await catalog.products(skus) {
                for (id, var watcher) in watchers {
                    var changed: [Level] = []
                    for sku in watcher.skus.sorted() {
                        let level = products[sku].map { Level(sku: sku, available: $0.stock, version: Int($0.version), deleted: false) }
                            ?? Level(sku: sku, available: 0, version: watcher.sent[sku]?.version ?? 0, deleted: true)
                        if watcher.sent[sku] != level {
                            changed.append(level)
                            watcher.sent[sku] = level
                        }
                    }
                    if !changed.isEmpty { watcher.continuation.yield(changed) }
                    watchers[id]?.sent = watcher.sent
                }
            }
            try? await Task.sleep(for: interval)
        }
        polling = nil
    }
}
