import Dispatch

/// The thread a connection's blocking C calls run on: a serial dispatch queue of its own, so they
/// never occupy Swift's cooperative thread pool and calls on one connection never overlap.
///
/// It is also a `TaskExecutor`. A pool runs the code that holds a connection with this executor
/// preferred, so a transaction's statements execute right here, one after another, without a
/// thread hop each; code running elsewhere hops onto the queue for each call.
public final class BlockingCallQueue: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue
    private static let identity = DispatchSpecificKey<ObjectIdentifier>()

    public init(label: String) {
        self.queue = DispatchQueue(label: label)
        queue.setSpecific(key: Self.identity, value: ObjectIdentifier(self))
    }

    private var isCurrent: Bool {
        DispatchQueue.getSpecific(key: Self.identity) == ObjectIdentifier(self)
    }

    /// Runs `work` on the queue and returns its result: inline when already there, otherwise by
    /// hopping onto it. `onCancel`, if given, runs (on whatever thread) when the calling task is
    /// cancelled meanwhile; use it for a thread-safe interrupt of the call.
    public func run<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        onCancel: (@Sendable () -> Void)? = nil
    ) async throws -> T {
        guard let onCancel else { return try await run(work) }
        return try await withTaskCancellationHandler {
            try await run(work)
        } onCancel: {
            onCancel()
        }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        if isCurrent { return try work() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: work)) }
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
