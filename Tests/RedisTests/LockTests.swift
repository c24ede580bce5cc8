import EmporiumTestSupport
import Foundation
import Redis
import Synchronization
import Testing

@Suite("RedisLock", .timeLimit(.minutes(1)))
struct LockTests {
    let redis: RedisPool
    let prefix = TestRedis.prefix()

    init() throws {
        redis = try TestRedis.makePool(maximumConnections: 50)
    }

    /// Who is inside the critical section, and the most that ever were at once.
    struct Occupancy {
        var inside = 0
        var mostAtOnce = 0
        var entries = 0
    }

    final class SharedOccupancy: Sendable {
        let state = Mutex(Occupancy())
    }

    @Test("50 concurrent tasks contending for one lock never overlap")
    func mutualExclusion() async throws {
        let key = prefix + "contended"
        let occupancy = SharedOccupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    let ran = try await redis.withLock(key, timeToLive: .seconds(10), wait: .seconds(50)) { lock in
                        occupancy.state.withLock {
                            $0.inside += 1
                            $0.entries += 1
                            $0.mostAtOnce = max($0.mostAtOnce, $0.inside)
                        }
                        // Hold the lock across real round trips, so overlaps would show.
                        #expect(try await redis.getString(key) == lock.token)
                        try await Task.sleep(for: .milliseconds(2))
                        occupancy.state.withLock { $0.inside -= 1 }
                        return true
                    }
                    #expect(ran == true)
                }
            }
            try await group.waitForAll()
        }
        let result = occupancy.state.withLock { $0 }
        #expect(result.entries == 50)
        #expect(result.mostAtOnce == 1)
        #expect(try await redis.get(key) == nil)
    }

    @Test("an expired lock is neither released nor extended by its old holder")
    func expiredHolder() async throws {
        let key = prefix + "expiring"
        let first = try #require(try await RedisLock.acquire(key, timeToLive: .seconds(30), on: redis))
        #expect(try await RedisLock.acquire(key, timeToLive: .seconds(10), on: redis) == nil)
        // The lock runs out (forced, not waited for: a short time to live could run out between
        // the two acquires above on a loaded machine).
        _ = try await redis.command(["PEXPIRE", RedisArgument(key), "1"])
        #expect(try await eventually { try await redis.pttl(key) == -2 })

        let second = try #require(try await RedisLock.acquire(key, timeToLive: .seconds(10), on: redis))
        #expect(second.token != first.token)
        #expect(try await first.release() == false)
        #expect(try await first.extend(to: .seconds(30)) == false)
        #expect(try await redis.getString(key) == second.token)
        #expect(try await redis.pttl(key) <= 10_000)

        #expect(try await second.extend(to: .seconds(30)))
        #expect(try await redis.pttl(key) > 10_000)
        #expect(try await second.release())
        #expect(try await redis.get(key) == nil)
    }

    @Test("a held lock makes a second acquire give up after its wait")
    func waitBounded() async throws {
        let key = prefix + "held"
        let holder = try #require(try await RedisLock.acquire(key, timeToLive: .seconds(10), on: redis))
        let started = ContinuousClock.now
        #expect(try await RedisLock.acquire(key, timeToLive: .seconds(10), on: redis, wait: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(150))
        #expect(try await holder.release())
    }
}
