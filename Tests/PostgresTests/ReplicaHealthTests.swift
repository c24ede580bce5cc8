@testable import Postgres
import Testing

/// What `readYourWrites` keeps of the process's commits and the replica's replay, without servers.
@Suite("Replica health: the process's own writes")
struct ReplicaHealthTests {
    @Test("reads wait for the replica to replay past the highest noted commit")
    func highestCommit() {
        var health = ReplicaHealth()
        #expect(health.hasReplayedOwnWrites)
        health.mustSee(200)
        health.mustSee(100)
        health.replayed = 199
        #expect(!health.hasReplayedOwnWrites)
        health.replayed = 200
        #expect(health.hasReplayedOwnWrites)
    }

    @Test("a commit of unknown position waits for a measurement of the primary asked after it, not one asked before")
    func unknownPosition() {
        var health = ReplicaHealth()
        health.replayed = 500
        let askedBefore = health.notedWrites
        health.mustSee(nil)
        #expect(!health.hasReplayedOwnWrites)
        // Asked before the commit: its position may be short of it.
        health.primaryMeasured(at: 400, notedWritesBefore: askedBefore)
        #expect(!health.hasReplayedOwnWrites)
        health.primaryMeasured(at: 600, notedWritesBefore: health.notedWrites)
        #expect(health.ownWrites == 600 && !health.hasReplayedOwnWrites)
        health.replayed = 600
        #expect(health.hasReplayedOwnWrites)
    }

    @Test("a measurement asked before a commit leaves it; a primary behind the noted commits, measured after them, is another server")
    func primaryBehind() {
        var health = ReplicaHealth()
        let askedBefore = health.notedWrites
        health.mustSee(1_000)
        health.primaryMeasured(at: 900, notedWritesBefore: askedBefore)
        #expect(health.ownWrites == 1_000)
        // After a failover that lost the last WAL the new primary is at 300.
        health.primaryMeasured(at: 300, notedWritesBefore: health.notedWrites)
        health.replayed = 300
        #expect(health.hasReplayedOwnWrites)
    }
}
