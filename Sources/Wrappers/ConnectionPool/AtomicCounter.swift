import Synchronization

/// A counter shared by application tasks and a wrapper's I/O thread (messages buffered, deliveries
/// in hand).
public final class AtomicCounter: Sendable {
    private let count = Atomic<Int>(0)
    public init() {}
    public var value: Int { count.load(ordering: .relaxed) }
    public func add(_ delta: Int) { count.add(delta, ordering: .relaxed) }
    /// Adds `delta` and returns the new value.
    @discardableResult
    public func adding(_ delta: Int) -> Int { count.add(delta, ordering: .acquiringAndReleasing).newValue }
}
