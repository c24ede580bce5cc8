import Foundation
import Messaging
import Ordering
import Testing

/// An order's timers travel through the delay levels: the outbox relay publishes each one to a
/// level, and the consumer that gets it early sends it on. This plays an order's chain of timers
/// through the real routing (``AMQPDelays/level(for:)``) and the real timer rule
/// (``OrderTimer/next(after:createdAt:timings:skipReminders:now:)``), with the lags a fleet adds at
/// each step, and counts the delayed publishes. No broker: what is proven is the arithmetic that
/// decides how many hops a timer takes; the fleet tests prove the wiring.
@Suite("Order timers over the delay levels")
struct OrderTimerHopTests {
    /// Lags of one step: worker to relay, and broker to consumer.
    struct Lags {
        var relay: Duration
        var consumer: Duration
    }

    struct Fired {
        var timer: OrderTimer
        var publishes: Int
        var late: Duration
    }

    /// Plays the chain of an order created at time zero until its expiry; `paidBefore` is the
    /// number of the first reminder that finds the order paid (`nil`: never paid).
    func play(timings: OrderTimings, delays: AMQPDelays, lags: Lags, paidBefore: Int? = nil) -> [Fired] {
        let created = Date(timeIntervalSince1970: 0)
        var now = created
        var timer = OrderTimer.first(createdAt: created, timings: timings, now: now)
        var fired: [Fired] = []
        while true {
            // The relay publishes the outbox row with the delay the worker computed: to a level, or
            // (nothing left to wait) straight to the work exchange.
            var sentAt = now.adding(lags.relay)
            let deliverAt = sentAt.adding(timer.delay)
            var publishes = 0
            var arrival = sentAt.adding(lags.consumer)
            var level = delays.level(for: timer.delay)
            // Each delayed publish waits the level's TTL; the consumer sends it on while it is early.
            while let hop = level {
                publishes += 1
                arrival = sentAt.adding(hop).adding(lags.consumer)
                level = delays.level(for: .milliseconds(Int64((deliverAt.timeIntervalSince(arrival) * 1000).rounded())))
                sentAt = arrival
            }
            now = arrival
            fired.append(Fired(timer: timer, publishes: publishes, late: .milliseconds(Int64((now.timeIntervalSince(timer.due) * 1000).rounded()))))
            guard case .reminder(let number) = timer.kind else { return fired }
            let paid = paidBefore.map { number >= $0 } ?? false
            timer = OrderTimer.next(after: number, createdAt: created, timings: timings, skipReminders: paid, now: now)
        }
    }

    let fleetLags = Lags(relay: .milliseconds(80), consumer: .milliseconds(30))

    @Test("at the default settings each timer of an unpaid order is one delayed publish: 4 in all, none late by more than a second")
    func unpaidOrder() throws {
        let fired = play(timings: OrderTimings(), delays: try AMQPDelays(levels: AMQPDelays.defaultLevels), lags: fleetLags)
        #expect(fired.map(\.timer.label) == ["reminder-1", "reminder-2", "reminder-3", "expiry"])
        #expect(fired.map(\.publishes) == [1, 1, 1, 1])
        #expect(fired.allSatisfy { $0.late >= .zero && $0.late < .seconds(1) })
    }

    @Test("a paid order skips to its expiry in one publish, whichever reminder finds it paid")
    func paidOrder() throws {
        let delays = try AMQPDelays(levels: AMQPDelays.defaultLevels)
        for paidBefore in 1...3 {
            let fired = play(timings: OrderTimings(), delays: delays, lags: fleetLags, paidBefore: paidBefore)
            #expect(fired.last?.timer.kind == .expiry)
            #expect(fired.count == paidBefore + 1)
            #expect(fired.allSatisfy { $0.publishes == 1 })
        }
    }

    @Test("the default levels are the retry levels and the waits of the default timers")
    func defaultLevels() {
        #expect(Set(AMQPDelays.defaultLevels) == Set(AMQPDelays.retryLevels + OrderTimer.waits(timings: OrderTimings())))
        #expect(OrderTimer.waits(timings: OrderTimings()) == [2, 4, 8, 10, 12, 20].map { Duration.seconds($0 * 3600) })
    }

    @Test("levels derived from other timings give one publish per timer too")
    func derivedLevels() throws {
        let timings = OrderTimings(reminders: [.seconds(15), .seconds(30), .seconds(45)], expiry: .seconds(60))
        let delays = try AMQPDelays(levels: AMQPDelays.retryLevels + OrderTimer.waits(timings: timings))
        let fired = play(timings: timings, delays: delays, lags: fleetLags)
        #expect(fired.map(\.publishes) == [1, 1, 1, 1])
        #expect(fired.allSatisfy { $0.late < .seconds(1) })
    }

    @Test("lateness does not add up: with slow hops each timer is still within the tolerance of its due time")
    func slowHops() throws {
        let delays = try AMQPDelays(levels: AMQPDelays.defaultLevels)
        // 20 s per step: past the tolerance of the 2 h wait (7.2 s), so that timer is composed.
        let fired = play(timings: OrderTimings(), delays: delays, lags: Lags(relay: .seconds(20), consumer: .seconds(20)))
        #expect(fired.count == 4)
        for timer in fired {
            #expect(timer.late <= delays.tolerance(for: .seconds(10 * 3600)) + .seconds(40), "\(timer.timer.label) late by \(timer.late)")
        }
    }

    @Test("a delay a little short of a level takes that level; one well short of it is composed")
    func tolerance() throws {
        let delays = try AMQPDelays(levels: AMQPDelays.defaultLevels)
        #expect(delays.level(for: .seconds(8 * 3600) - .milliseconds(150)) == .seconds(8 * 3600))
        #expect(delays.level(for: .seconds(8 * 3600) - .seconds(60)) == .seconds(4 * 3600))
        #expect(delays.level(for: .milliseconds(4_700)) == .seconds(5))
        #expect(delays.level(for: .milliseconds(400)) == nil)
    }
}
