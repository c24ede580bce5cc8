import Dispatch

/// Runs blocking C calls for one connection on a serial dispatch queue of its own, so they never
/// occupy Swift's cooperative thread pool, and so that calls on one connection never overlap.
public final class BlockingCallQueue: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        self.queue = DispatchQueue(label: label)
    }

    /// Runs `work` on the queue and returns its result. `onCancel` runs (on whatever thread) if
    /// the calling task is cancelled meanwhile; use it for a thread-safe interrupt of the call.
    public func run<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        onCancel: @Sendable () -> Void = {}
    ) async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result(catching: work)) }
            }
        } onCancel: {
            onCancel()
        }
    }
}
