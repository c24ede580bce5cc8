import Foundation
import ServiceLifecycle

/// Runs `body` on a thread of its own (a wrapper's I/O or poll loop, which blocks in C calls and
/// must stay off Swift's cooperative pool) and returns when it returns. `stop` is called on
/// graceful shutdown (unless `stopsOnGracefulShutdown` is false: an owner that drains its own work
/// first stops it later) or cancellation; it must make `body` return soon.
public func runOnDedicatedThread(
    named name: String, stopsOnGracefulShutdown: Bool = true,
    _ body: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> Void
) async {
    await withTaskCancellationHandler {
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    body()
                    done.resume()
                }
                thread.name = name
                thread.start()
            }
        } onGracefulShutdown: {
            if stopsOnGracefulShutdown { stop() }
        }
    } onCancel: {
        stop()
    }
}
