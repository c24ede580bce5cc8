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

    /// What the loop knows of a socket it watches.
    private struct Watched {
        /// The connection whose socket this is. libpq closes a broken connection's socket
        /// itself, which drops it from epoll; the number can then come back with another
        /// connection, and an entry of the old one must not pass for its registration. (A
        /// connection never gets a second socket: nothing here calls `PQreset`. One that did
        /// would have to `forget` its socket first, or its new one could pass for the old.)
        var owner: UInt64
        /// The task waiting for the socket (at most one: a connection is used by one task at a
        /// time).
        var waiter: UnsafeContinuation<Void, Never>?
        /// What epoll reports for it now (`emp_epoll_watch`'s interest: 0, 1 read, 2 read+write).
        var interest: Int32 = 0
        /// The waiter was resumed, and its task has not waited again yet.
        var resumed = false
    }

    private let epoll: Int32
    private let wakeup: Int32
    private let jobs = Mutex(Jobs())
    /// The sockets this loop watches. Their registration stays between waits (no re-arm per
    /// statement): a task waits again with the interest already set, and the report comes with
    /// no `epoll_ctl` at all. A socket that reports with nobody waiting is quietened (interest 0)
    /// so that level-triggered readiness cannot spin the loop; the next wait turns it back on.
    private let sockets = Mutex<[Int32: Watched]>([:])

    private init(name: String) {
        epoll = emp_epoll_create()
        wakeup = emp_eventfd_create()
        precondition(epoll >= 0 && wakeup >= 0, "cannot create an epoll instance or an eventfd: errno \(errno)")
        precondition(emp_epoll_watch(epoll, wakeup, 1, 1) == 0, "cannot watch the loop's eventfd: errno \(errno)")
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
    func waitUntilReady(_ socket: Int32, owner: UInt64, forWrite: Bool) async {
        await withUnsafeContinuation { continuation in
            let interest: Int32 = forWrite ? 2 : 1
            // epoll_ctl under the lock, so that the loop's quietening cannot overtake it.
            let refused = sockets.withLock { sockets -> UnsafeContinuation<Void, Never>? in
                let known = sockets[socket].flatMap { $0.owner == owner ? $0 : nil }
                var watched = known ?? Watched(owner: owner)
                if known == nil || watched.interest != interest {
                    // Added when new to this loop (modified if epoll still has the number);
                    // modified when the interest changes (added if epoll lost it).
                    let first: Int32 = known == nil ? 1 : 0
                    guard emp_epoll_watch(epoll, socket, first, interest) == 0
                        || emp_epoll_watch(epoll, socket, 1 - first, interest) == 0 else {
                        // Not a socket epoll can watch (closed): let the caller find out from libpq.
                        sockets.removeValue(forKey: socket)
                        return continuation
                    }
                    watched.interest = interest
                }
                watched.waiter = continuation
                watched.resumed = false
                sockets[socket] = watched
                return nil
            }
            refused?.resume()
        }
    }

    /// Stops watching `owner`'s `socket`; call before it is closed (the number may be reused).
    func forget(_ socket: Int32, owner: UInt64) {
        let waiter = sockets.withLock { sockets -> UnsafeContinuation<Void, Never>? in
            guard sockets[socket]?.owner == owner else { return nil }
            _ = emp_epoll_remove(epoll, socket)
            return sockets.removeValue(forKey: socket)?.waiter
        }
        waiter?.resume()
    }

    /// A report for `socket`: its waiter, if one waits. A report with nobody waiting is expected
    /// once right after a resumption (the resumed task has not read yet when the loop polls
    /// again); another one quietens the socket until its next wait.
    private func reported(_ socket: Int32) -> UnsafeContinuation<Void, Never>? {
        sockets.withLock { sockets in
            guard var watched = sockets[socket] else {
                // Registered, yet unknown here: a level-triggered report would come back at
                // every pass. (A registration outlives its entry only when its file does,
                // such as a socket libpq closed that a child process still holds until exec;
                // then removal by number fails and it ends when the file closes.)
                _ = emp_epoll_remove(epoll, socket)
                return nil
            }
            if let waiter = watched.waiter {
                watched.waiter = nil
                watched.resumed = true
                sockets[socket] = watched
                return waiter
            }
            if watched.resumed {
                watched.resumed = false
            } else if watched.interest != 0 {
                guard emp_epoll_watch(epoll, socket, 0, 0) == 0 else {
                    // The number names another file now: drop what this loop knew of it.
                    _ = emp_epoll_remove(epoll, socket)
                    sockets.removeValue(forKey: socket)
                    return nil
                }
                watched.interest = 0
            }
            sockets[socket] = watched
            return nil
        }
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
                } else if let waiter = reported(socket) {
                    // The resumed task is queued on this loop (its preferred executor).
                    waiter.resume()
                }
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
