import ConnectionPool
import Synchronization

/// A dedicated thread that calls a blocking poll function in a loop until stopped. librdkafka's
/// poll calls block for up to their time-out, so they never run on Swift's cooperative pool.
final class KafkaPollThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let name: String

    init(name: String) {
        self.name = name
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Runs `poll` until ``stop()`` (or graceful shutdown, or cancellation), then `finish`, on the
    /// thread; returns when the thread is done.
    func run(
        stopsOnGracefulShutdown: Bool = true, poll: @escaping @Sendable () -> Void, finish: @escaping @Sendable () -> Void
    ) async {
        await runOnDedicatedThread(named: name, stopsOnGracefulShutdown: stopsOnGracefulShutdown, { [self] in
            while !isStopping { poll() }
            finish()
        }, stop: { self.stop() })
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
    }
}
