import CLibPQ
import ConnectionPool
import Foundation
import Synchronization

/// A thread that waits on many connections' sockets at once (epoll) and runs the Swift code of
/// the tasks that use them: a `TaskExecutor`.
///
/// Each connection belongs to one loop. Its statements are sent without blocking, and the task
/// that sent them suspends until the socket is ready; the loop then resumes it on this same
/// thread. A few loops thus serve every connection of the process, as pgbench's threads serve
/// its clients, instead of a blocked thread per connection and two thread hand-offs per
/// statement. Code that holds a connection runs with its loop as the preferred executor, so a
/// transaction's statements and the code between them stay on the loop's thread.
final class SocketEventLoop: TaskExecutor, @unchecked Sendable {
    /// The loops of this process, one per core (at most four); connections take them in turn.
    static let shared: [SocketEventLoop] = {
        let count = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
        return (0..<count).map { SocketEventLoop(name: "pg.loop.\($0)") }
    }()
    private static let nextShared = Atomic<Int>(0)

    static func next() -> SocketEventLoop {
        let index = nextShared.add(1, ordering: .relaxed).oldValue
        return shared[index % shared.count]
    }

    /// The loop the current task prefers as its executor, if it prefers one of these.
    static var preferredByCurrentTask: SocketEventLoop? {
        guard let preferred = withUnsafeCurrentTask(body: { $0?.unownedTaskExecutor }) else { return nil }
        return shared.first { $0.asUnownedTaskExecutor() == preferred }
    }

    private struct Jobs {
        var queued: [UnownedJob] = []
        /// The loop waits in epoll with nothing queued: an enqueue must wake it.
        var sleeping = false
    }

    private let epoll: Int32
    private let wakeup: Int32
    private let jobs = Mutex(Jobs())
    /// The task waiting for each socket to become ready (at most one per socket: a connection is
    /// used by one task at a time).
    private let waiters = Mutex<[Int32: UnsafeContinuation<Void, Never>]>([:])

    private init(name: String) {
        epoll = emp_epoll_create()
        wakeup = emp_eventfd_create()
        precondition(epoll >= 0 && wakeup >= 0, "cannot create an epoll instance or an eventfd: errno \(errno)")
        precondition(emp_epoll_arm(epoll, wakeup, 1, 0, 0) == 0, "cannot watch the loop's eventfd: errno \(errno)")
        startThread(named: name) { [self] in run() }
    }

    // MARK: - TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let mustWake = jobs.withLock { jobs in
            jobs.queued.append(job)
            guard jobs.sleeping else { return false }
            jobs.sleeping = false
            return true
        }
        if mustWake { emp_eventfd_signal(wakeup) }
    }

    // MARK: - Sockets

    /// Suspends until `socket` is readable (or writable as well, with `forWrite`), or closed.
    /// Readiness is level-triggered: data already waiting resumes the caller at once. Spurious
    /// resumptions are possible; callers check their condition again.
    func waitUntilReady(_ socket: Int32, forWrite: Bool) async {
        await withUnsafeContinuation { continuation in
            waiters.withLock { $0[socket] = continuation }
            // Re-arm the one-shot registration; a socket this loop has not seen yet is added.
            if emp_epoll_arm(epoll, socket, 0, forWrite ? 1 : 0, 1) != 0,
               emp_epoll_arm(epoll, socket, 1, forWrite ? 1 : 0, 1) != 0 {
                // Not a socket epoll can watch (closed): let the caller find out from libpq.
                waiters.withLock { $0.removeValue(forKey: socket) }?.resume()
            }
        }
    }

    /// Stops watching `socket`; call before it is closed (the number may be reused).
    func forget(_ socket: Int32) {
        _ = emp_epoll_remove(epoll, socket)
        waiters.withLock { $0.removeValue(forKey: socket) }?.resume()
    }

    // MARK: - The loop

    private func run() {
        var batch: [UnownedJob] = []
        var ready = [Int32](repeating: 0, count: 64)
        while true {
            let timeout: Int32 = jobs.withLock { jobs in
                swap(&batch, &jobs.queued)
                if !batch.isEmpty { return 0 }
                jobs.sleeping = true
                return -1
            }
            let count = ready.withUnsafeMutableBufferPointer { emp_epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeout) }
            if timeout != 0 { jobs.withLock { $0.sleeping = false } }
            for socket in ready.prefix(max(0, Int(count))) {
                if socket == wakeup {
                    emp_eventfd_drain(wakeup)
                } else if let waiter = waiters.withLock({ $0.removeValue(forKey: socket) }) {
                    // The resumed task is queued on this loop (its preferred executor).
                    waiter.resume()
                }
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
