@testable import Kafka
@testable import Messaging
import Testing

@Suite("Kafka key lanes")
struct KafkaLanesTests {
    func message(_ offset: Int64, key: String?, partition: Int32 = 0) -> KafkaMessage {
        KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: "t", partition: partition), offset: offset,
            key: key.map { Array($0.utf8) }, value: [], headers: [], timestamp: nil)
    }

    @Test("messages of one key wait in their lane; other keys open lanes of their own")
    func lanes() {
        var lanes = KafkaLanes()
        let opened = [
            message(0, key: "a"), message(1, key: "a"), message(2, key: "b"), message(3, key: nil), message(4, key: nil),
            message(0, key: "a", partition: 1),
        ].map { lanes.arrive($0) == .opened }
        #expect(opened == [true, false, true, true, true, true])
        let (next, _) = lanes.finish(message(0, key: "a"))
        #expect(next?.offset == 1)
    }

    @Test("the stored position never passes a message still in work")
    func commitPosition() {
        var lanes = KafkaLanes()
        for offset in 0..<4 { _ = lanes.arrive(message(Int64(offset), key: "k\(offset)")) }
        let stored = [1, 2, 0, 3].map { lanes.finish(message(Int64($0), key: "k\($0)")).store?.offset }
        #expect(stored == [nil, nil, 2, 3])
    }

    @Test("abandoning a message drops the rest of its lane, stores nothing past it, and takes no new message")
    func abandon() {
        var lanes = KafkaLanes()
        _ = lanes.arrive(message(0, key: "a"))
        _ = lanes.arrive(message(1, key: "a"))
        _ = lanes.arrive(message(2, key: "b"))
        let dropped = lanes.abandon(message(0, key: "a")).map(\.offset)
        let stored = lanes.finish(message(2, key: "b")).store
        let later = lanes.arrive(message(3, key: "a"))
        #expect(dropped == [1])
        #expect(stored == nil)
        #expect(later == .refused)
    }

    @Test("an offset fetched again after a rebalance does not freeze the stored position")
    func refetchedOffsets() {
        var lanes = KafkaLanes()
        // 5 is slow; 6 and 7 finish; then the partition comes back and 6 and 7 arrive again.
        for offset in [5, 6, 7] { _ = lanes.arrive(message(Int64(offset), key: "k\(offset)")) }
        var stored = [6, 7].map { lanes.finish(message(Int64($0), key: "k\($0)")).store?.offset }
        for offset in [6, 7] { _ = lanes.arrive(message(Int64(offset), key: "again\(offset)")) }
        stored += [6, 7].map { lanes.finish(message(Int64($0), key: "again\($0)")).store?.offset }
        stored.append(lanes.finish(message(5, key: "k5")).store?.offset)
        _ = lanes.arrive(message(8, key: "k8"))
        stored.append(lanes.finish(message(8, key: "k8")).store?.offset)
        #expect(stored == [nil, nil, nil, nil, 7, 8])
    }
}
