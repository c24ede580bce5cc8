import Synchronization

/// Wakes the tasks waiting on it; a ring with nobody waiting is remembered until the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        /// Once closed, every wait returns at once.
        var closed = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose time ran out before they were registered (a cancelled sleep returns at once).
        var expired: Set<Int> = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// Wakes every waiter now and every later one at once (shutdown).
    func close() {
        state.withLock { $0.closed = true }
        ring()
    }

    func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.rung = true
                return []
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes one waiter (the longest waiting); with none waiting, the ring is kept for the next
    /// wait, as ``ring()`` keeps it.
    func ringOne() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let first = state.waiters.keys.min() else {
                state.rung = true
                return nil
            }
            return state.waiters.removeValue(forKey: first)
        }
        waiter?.resume()
    }

    /// How many wait now (for tests).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Returns after a ring, or after `timeout`.
    func wait(timeout: Duration) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.wake(id)
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.expired.remove(id) != nil || state.closed { return true }
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
        // The timer has run by now; if a ring came first, it left an expired mark behind.
        state.withLock { _ = $0.expired.remove(id) }
    }

    /// Wakes one waiter (its time-out), or marks it expired if it is not registered yet.
    private func wake(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume()
    }
}
