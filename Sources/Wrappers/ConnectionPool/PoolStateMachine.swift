/// The pool's bookkeeping: idle connections, how many exist, who waits. Pure: it returns what
/// to do, and the pool does it after releasing the lock (no I/O, no continuation under a lock).
struct PoolStateMachine<Connection: AnyObject & Sendable> {
    /// What a waiting caller is given.
    enum Grant: Sendable {
        case connection(Connection)
        /// A slot was freed: the waiter may open a new connection.
        case create
    }

    enum LeaseAction {
        case use(Connection)
        case create
        case wait
        case fail
    }

    enum ReleaseAction {
        case none
        case hand(Connection, to: CheckedContinuation<Grant, any Error>)
        case letCreate(CheckedContinuation<Grant, any Error>)
        /// Fail this waiter: the pool is closed, or it gave up before it got in line.
        case reject(CheckedContinuation<Grant, any Error>, any Error)
    }

    private(set) var idle: [Connection] = []
    /// Open connections plus the ones being opened.
    private(set) var total = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Grant, any Error>)] = []
    /// Waiters that gave up before they got in line, and why.
    private var abandoned: [Int: any Error] = [:]
    /// Waiters handed a grant (so a late abandon is ignored) until they call `finish`.
    private var served: Set<Int> = []
    private var nextWaiterID = 0
    private(set) var isClosed = false
    let maximum: Int

    init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// A connection for a caller: an idle one (the last one back that `isPreferred` accepts, else
    /// the last one back), else a slot to open one, else a place in line.
    mutating func lease(preferring isPreferred: (Connection) -> Bool = { _ in false }) -> LeaseAction {
        if isClosed { return .fail }
        // A plain loop: `lastIndex(where:)` allocated on every lease here (unspecialized).
        var index = idle.endIndex
        while index > idle.startIndex {
            index -= 1
            if isPreferred(idle[index]) { return .use(idle.remove(at: index)) }
        }
        if let connection = idle.popLast() { return .use(connection) }
        if total < maximum {
            total += 1
            return .create
        }
        return .wait
    }

    mutating func makeWaiterID() -> Int {
        nextWaiterID += 1
        return nextWaiterID
    }

    /// Registers a waiter, unless the pool closed or a connection freed up in the meantime.
    mutating func wait(id: Int, _ continuation: CheckedContinuation<Grant, any Error>) -> ReleaseAction {
        if let reason = abandoned.removeValue(forKey: id) { return .reject(continuation, reason) }
        if isClosed { return .reject(continuation, ConnectionPoolError.closed) }
        if let connection = idle.popLast() {
            served.insert(id)
            return .hand(connection, to: continuation)
        }
        if total < maximum {
            total += 1
            served.insert(id)
            return .letCreate(continuation)
        }
        waiters.append((id, continuation))
        return .none
    }

    /// Removes a waiter that gave up (cancelled or timed out); returns it if it was waiting. One
    /// that has not got in line yet is remembered, so that `wait` turns it away with `reason`.
    mutating func abandon(id: Int, reason: any Error) -> CheckedContinuation<Grant, any Error>? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else {
            if !served.contains(id) { abandoned[id] = reason }
            return nil
        }
        return waiters.remove(at: index).continuation
    }

    /// A waiter got its grant: nothing it abandons later concerns the pool any more.
    mutating func finish(id: Int) {
        served.remove(id)
        abandoned[id] = nil
    }

    /// A connection comes back: to the next waiter or to the idle list. One that is not reusable
    /// is dropped (its `deinit` closes it) and its slot goes to the next waiter.
    mutating func release(_ connection: Connection, reusable: Bool) -> ReleaseAction {
        guard reusable, !isClosed else {
            total -= 1
            return slotFreed()
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            served.insert(waiter.id)
            return .hand(connection, to: waiter.continuation)
        }
        idle.append(connection)
        return .none
    }

    /// Opening a connection failed: its slot is free again.
    mutating func creationFailed() -> ReleaseAction {
        total -= 1
        return slotFreed()
    }

    private mutating func slotFreed() -> ReleaseAction {
        guard !isClosed, !waiters.isEmpty else { return .none }
        total += 1
        let waiter = waiters.removeFirst()
        served.insert(waiter.id)
        return .letCreate(waiter.continuation)
    }

    /// Closes the pool: returns the idle connections to close and the waiters to fail.
    mutating func close() -> (idle: [Connection], waiters: [CheckedContinuation<Grant, any Error>]) {
        isClosed = true
        let closing = (idle, waiters.map(\.continuation))
        total -= idle.count
        idle = []
        waiters = []
        abandoned = [:]
        return closing
    }
}
