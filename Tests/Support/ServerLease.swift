public import Testing

/// Keeps tests that restart a shared server from running while other tests use it: users take a
/// shared lease, the restarting test an exclusive one. All test targets run in one process, so one
/// lease per server covers them all. First come, first served.
public actor ServerLease {
    /// RabbitMQ, which the recovery tests restart.
    public static let rabbitMQ = ServerLease()
    /// The order pipeline fleet's product-worker group, which the graceful-shutdown test
    /// rebalances (a worker joining and leaving holds up every partition for seconds).
    public static let productWorkers = ServerLease()

    private var sharedHolders = 0
    private var exclusiveHeld = false
    private var queue: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    public func withShared<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await with(exclusive: false, body)
    }

    public func withExclusive<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await with(exclusive: true, body)
    }

    private func with<R: Sendable>(exclusive: Bool, _ body: () async throws -> R) async throws -> R {
        await acquire(exclusive: exclusive)
        defer { release(exclusive: exclusive) }
        return try await body()
    }

    private func acquire(exclusive: Bool) async {
        if queue.isEmpty && canGrant(exclusive: exclusive) {
            grant(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { queue.append((exclusive, $0)) }
    }

    private func canGrant(exclusive: Bool) -> Bool {
        exclusive ? !exclusiveHeld && sharedHolders == 0 : !exclusiveHeld
    }

    private func grant(exclusive: Bool) {
        if exclusive { exclusiveHeld = true } else { sharedHolders += 1 }
    }

    private func release(exclusive: Bool) {
        if exclusive { exclusiveHeld = false } else { sharedHolders -= 1 }
        while let next = queue.first, canGrant(exclusive: next.exclusive) {
            queue.removeFirst()
            grant(exclusive: next.exclusive)
            next.continuation.resume()
        }
    }
}


/// A test trait that runs each test case under a shared or an exclusive hold on a lease:
/// `.usesRabbitMQ` / `.restartsRabbitMQ`, `.usesProductWorkers` / `.rebalancesProductWorkers`.
public struct LeaseTrait: TestTrait, SuiteTrait, TestScoping {
    let lease: ServerLease
    let exclusive: Bool

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        try await exclusive ? lease.withExclusive(function) : lease.withShared(function)
    }
}

extension Trait where Self == LeaseTrait {
    /// The test uses RabbitMQ: it does not run while another test restarts it.
    public static var usesRabbitMQ: Self { LeaseTrait(lease: .rabbitMQ, exclusive: false) }
    /// The test restarts RabbitMQ: it runs alone among the tests that use it.
    public static var restartsRabbitMQ: Self { LeaseTrait(lease: .rabbitMQ, exclusive: true) }
    /// The test needs the product workers to keep up (orders decided within seconds).
    public static var usesProductWorkers: Self { LeaseTrait(lease: .productWorkers, exclusive: false) }
    /// The test adds, removes or pauses product workers: it runs alone among those that need them.
    public static var rebalancesProductWorkers: Self { LeaseTrait(lease: .productWorkers, exclusive: true) }
}
