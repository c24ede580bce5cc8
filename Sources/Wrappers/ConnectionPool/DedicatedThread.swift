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
                startThread(named: name) {
                    body()
                    done.resume()
                }
            }
        } onGracefulShutdown: {
            if stopsOnGracefulShutdown { stop() }
        }
    } onCancel: {
        stop()
    }
}

/// Starts `body` on a new thread that `ps -L`, `top -H` and `perf` show as `name`. Foundation's
/// `Thread.name` does not reach the kernel on Linux, so such threads kept the name of the thread
/// that started them (a pool thread's); the kernel keeps at most 15 bytes of a name and refuses a
/// longer one, so a longer name is cut.
public func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    let shown = String(decoding: name.utf8.prefix(15), as: UTF8.self)
    let thread = Thread {
        #if os(Linux)
        // What pthread_setname_np does for the calling thread (which Glibc's module leaves out).
        let file = open("/proc/thread-self/comm", O_WRONLY)
        if file >= 0 {
            _ = shown.withCString { write(file, $0, strlen($0)) }
            close(file)
        }
        #endif
        body()
    }
    thread.name = shown
    thread.start()
}
