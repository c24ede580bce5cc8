import Kafka

/// Which messages of a Kafka consumer are in flight, and what may be committed.
///
/// Messages of one key (per partition) form a lane and run one after another; lanes run
/// concurrently. A partition's committable position is the end of its longest finished prefix:
/// a message still in flight (say, waiting for a retry) holds it back, the others do not wait.
struct KafkaLanes: Sendable {
    struct LaneKey: Hashable, Sendable {
        let partition: KafkaTopicPartition
        /// The Kafka key; an unkeyed message gets a lane of its own.
        let key: [UInt8]?
        let unkeyedOffset: Int64?
    }

    /// A partition's offsets in arrival order. After a rebalance the same offset can arrive again
    /// (fetched anew from the committed position), so finishes are counted per offset.
    private struct Pending {
        var offsets: [Int64] = []
        var finished: [Int64: Int] = [:]
        var messages: [Int64: KafkaMessage] = [:]
        var head = 0
    }

    private var lanes: [LaneKey: [KafkaMessage]] = [:]
    private var partitions: [KafkaTopicPartition: Pending] = [:]
    /// Set at shutdown (and by the first abandoned message): no message is taken any more, so
    /// none can overtake one of its key that was left for the next owner.
    private(set) var closed = false

    enum Arrival {
        /// The message opens a lane: the caller starts a worker for it.
        case opened
        /// It waits in its lane behind the messages of the same key.
        case queued
        /// Shutting down: the message is not taken (the partition's next owner gets it).
        case refused
    }

    mutating func close() { closed = true }

    static func laneKey(of message: KafkaMessage) -> LaneKey {
        LaneKey(partition: message.topicPartition, key: message.key, unkeyedOffset: message.key == nil ? message.offset : nil)
    }

    /// Takes a new message.
    mutating func arrive(_ message: KafkaMessage) -> Arrival {
        guard !closed else { return .refused }
        partitions[message.topicPartition, default: Pending()].offsets.append(message.offset)
        partitions[message.topicPartition]!.messages[message.offset] = message
        let key = Self.laneKey(of: message)
        if lanes[key] != nil {
            lanes[key]!.append(message)
            return .queued
        }
        lanes[key] = []
        return .opened
    }

    /// Marks `message` finished. Returns the lane's next message (nil closes the lane) and the
    /// message whose offset may now be stored, if the finished prefix grew.
    mutating func finish(_ message: KafkaMessage) -> (next: KafkaMessage?, store: KafkaMessage?) {
        let key = Self.laneKey(of: message)
        var next: KafkaMessage?
        if var queue = lanes[key], !queue.isEmpty {
            next = queue.removeFirst()
            lanes[key] = queue
        } else {
            lanes[key] = nil
        }
        guard var pending = partitions[message.topicPartition] else { return (next, nil) }
        pending.finished[message.offset, default: 0] += 1
        var store: KafkaMessage?
        while pending.head < pending.offsets.count, let count = pending.finished[pending.offsets[pending.head]] {
            let offset = pending.offsets[pending.head]
            pending.finished[offset] = count > 1 ? count - 1 : nil
            if let popped = pending.messages.removeValue(forKey: offset), popped.offset > (store?.offset ?? -1) { store = popped }
            pending.head += 1
        }
        if pending.head > 1024 {
            pending.offsets.removeFirst(pending.head)
            pending.head = 0
        }
        partitions[message.topicPartition] = pending
        return (next, store)
    }

    /// Gives up on `message` (shutdown during a retry): its lane closes; nothing after it in its
    /// partition is stored any more, so the next owner sees it again.
    mutating func abandon(_ message: KafkaMessage) -> [KafkaMessage] {
        closed = true
        let key = Self.laneKey(of: message)
        let dropped = lanes.removeValue(forKey: key) ?? []
        return dropped
    }
}
