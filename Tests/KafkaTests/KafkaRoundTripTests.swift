import EmporiumTestSupport
import Foundation
@testable import Kafka
import Synchronization
import Testing

@Suite("Kafka producer and consumer", .timeLimit(.minutes(2)))
struct KafkaRoundTripTests {
    @Test("messages round-trip with keys and headers; one key stays on one partition")
    func roundTrip() async throws {
        let (cluster, topic) = try TestKafka.cluster()
        let producer = try TestKafka.producer(cluster)
        let consumer = try await TestKafka.consumer(cluster, topic: topic, group: "g-\(UUID())")
        try await withRunning([producer, consumer]) {
            var reports: [KafkaDeliveryReport] = []
            for index in 0..<20 {
                let key = "order-\(index % 5)"
                reports.append(try await producer.send(KafkaOutgoingMessage(
                    topic: topic, key: key, value: "payload \(index) — ✓",
                    headers: [KafkaHeader(name: "message-id", value: "m-\(index)"), KafkaHeader(name: "empty", value: nil)])))
            }
            #expect(reports.allSatisfy { $0.topicPartition.topic == topic && $0.offset >= 0 })

            var received: [KafkaMessage] = []
            for try await message in consumer.messages {
                received.append(message)
                if received.count == 20 { break }
            }
            #expect(Set(received.map(\.valueString)) == Set((0..<20).map { "payload \($0) — ✓" }))
            for message in received {
                let index = Int(message.valueString.split(separator: " ")[1])!
                #expect(message.keyString == "order-\(index % 5)")
                #expect(message.header("message-id") == "m-\(index)")
                #expect(message.headers.contains(KafkaHeader(name: "empty", value: nil)))
            }
            // Every key maps to exactly one partition, and within it order is kept.
            let byKey = Dictionary(grouping: received, by: { $0.keyString! })
            for (_, messages) in byKey {
                #expect(Set(messages.map(\.partition)).count == 1)
                #expect(messages.map(\.offset) == messages.map(\.offset).sorted())
            }
        }
    }

    @Test("metadata, watermarks, committed offsets and lag")
    func metadata() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 3)
        let producer = try TestKafka.producer(cluster)
        let consumer = try await TestKafka.consumer(cluster, topic: topic, group: "g-\(UUID())")
        try await withRunning([producer, consumer]) {
            let topics = try await producer.topics()
            #expect(topics.first { $0.name == topic }?.partitions == [0, 1, 2])
            var sent: [KafkaDeliveryReport] = []
            for index in 0..<9 { sent.append(try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(index)", value: "v"))) }
            var total: Int64 = 0
            for partition in 0..<3 {
                total += try await producer.watermarks(KafkaTopicPartition(topic: topic, partition: Int32(partition))).high
            }
            #expect(total == 9)

            var handled = 0
            for try await message in consumer.messages {
                consumer.store(message)
                handled += 1
                if handled == 9 { break }
            }
            try await consumer.commit()
            let partitions = (0..<3).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            let committed = try await consumer.committed(partitions)
            #expect(committed.values.compactMap { $0 }.reduce(0, +) == 9)
            #expect(try await consumer.lag(topic: topic).values.reduce(0, +) == 0)
            try await producer.send(KafkaOutgoingMessage(topic: topic, key: "one more", value: "v"))
            #expect(try await consumer.lag(topic: topic).values.reduce(0, +) == 1)
        }
    }

    @Test("a consumer restarted after committing resumes after its commit")
    func resumesAfterCommit() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let group = "g-\(UUID())"
        let producer = try TestKafka.producer(cluster)
        try await withRunning([producer]) {
            for index in 0..<10 { try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: "\(index)")) }
        }
        let first = try await TestKafka.consumer(cluster, topic: topic, group: group)
        try await withRunning([first]) {
            var seen = 0
            for try await message in first.messages {
                seen += 1
                // Only the first five count as handled.
                if message.offset < 5 { first.store(message) }
                if seen == 10 { break }
            }
        }
        let second = try await TestKafka.consumer(cluster, topic: topic, group: group)
        try await withRunning([second]) {
            var iterator = second.messages.makeAsyncIterator()
            let next = try #require(try await iterator.next())
            #expect(next.offset == 5)
            #expect(next.valueString == "5")
        }
    }

    @Test("two consumers in one group split the partitions between them")
    func groupSplitsPartitions() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 4)
        let group = "g-\(UUID())"
        let producer = try TestKafka.producer(cluster)
        let first = try await TestKafka.consumer(cluster, topic: topic, group: group)
        let second = try await TestKafka.consumer(cluster, topic: topic, group: group)
        try await withRunning([producer, first, second]) {
            let collected = Collected()
            try await withThrowingTaskGroup(of: Void.self) { readers in
                for (name, consumer) in [("first", first), ("second", second)] {
                    readers.addTask {
                        for try await message in consumer.messages {
                            consumer.store(message)
                            if await collected.add(name, message) { return }
                        }
                    }
                }
                // Keep producing until both members have received something, i.e. both own partitions.
                var index = 0
                while await !collected.bothSeen, index < 2_000 {
                    try await producer.send(KafkaOutgoingMessage(topic: topic, key: "key-\(index)", value: "\(index)"))
                    index += 1
                    if index % 40 == 0 { try await Task.sleep(for: .milliseconds(100)) }
                }
                await collected.stop()
                readers.cancelAll()
            }
            let partitions = await collected.partitions
            #expect(!(partitions["first"] ?? []).isEmpty)
            #expect(!(partitions["second"] ?? []).isEmpty)
            #expect((partitions["first"] ?? []).isDisjoint(with: partitions["second"] ?? []))
        }
    }
}

/// Set once something arrived.
final class ArrivalFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// What each group member received, after the group settled.
actor Collected {
    var partitions: [String: Set<Int32>] = [:]
    var stopped = false
    var bothSeen: Bool { partitions.count == 2 }

    /// Records a message; returns true once collection has stopped.
    func add(_ member: String, _ message: KafkaMessage) -> Bool {
        partitions[member, default: []].insert(message.partition)
        return stopped
    }

    func stop() { stopped = true }
}

extension KafkaRoundTripTests {
    @Test("seek moves the position; pause holds a partition back until resume")
    func seekPauseResume() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let producer = try TestKafka.producer(cluster)
        let consumer = try await TestKafka.consumer(cluster, topic: topic, group: "g-\(UUID())")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try await withRunning([producer, consumer]) {
            try await producer.send((0..<5).map { KafkaOutgoingMessage(topic: topic, key: "k", value: "\($0)") })
            var iterator = consumer.messages.makeAsyncIterator()
            for expected in 0..<5 { #expect(try await iterator.next()?.offset == Int64(expected)) }

            try await consumer.seek(partition, to: 1)
            #expect(try await iterator.next()?.valueString == "1")
            for _ in 2..<5 { _ = try await iterator.next() }

            try consumer.pause([partition])
            try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: "held back"))
            let arrived = ArrivalFlag()
            let early = Task { [iterator] in
                var iterator = iterator
                let message = try await iterator.next()
                arrived.set()
                return message
            }
            // Nothing may arrive while paused; give the fetcher ample time to show it would.
            try await Task.sleep(for: .seconds(1))
            #expect(!arrived.isSet)
            try consumer.resume([partition])
            let message = try await early.value
            #expect(message?.valueString == "held back")
        }
    }
}

extension KafkaRoundTripTests {
    @Test("only handled offsets are committed (in the background too), and they survive a rebalance")
    func commitsOnlyHandled() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let group = "g-\(UUID())"
        let producer = try TestKafka.producer(cluster)
        try await withRunning([producer]) {
            try await producer.send((0..<40).map { KafkaOutgoingMessage(topic: topic, key: "key", value: "\($0)") })
        }
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let first = try await TestKafka.consumer(cluster, topic: topic, group: group) { $0.commitInterval = .milliseconds(200) }
        try await withRunning([first]) {
            // All 40 arrive, only the first 25 are handled; nothing is committed explicitly.
            var seen = 0
            for try await message in first.messages {
                if message.offset < 25 { first.store(message) }
                seen += 1
                if seen == 40 { break }
            }
            let committed = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                (try await first.committed([partition])[partition] ?? nil) == 25
            }
            #expect(committed)

            // Another member joins; whoever owns the partition afterwards starts at 25.
            let second = try await TestKafka.consumer(cluster, topic: topic, group: group)
            try await withRunning([second]) {
                let offset = try await second.committed([partition])[partition] ?? nil
                #expect(offset == 25)
            }
        }
        let restarted = try await TestKafka.consumer(cluster, topic: topic, group: group)
        try await withRunning([restarted]) {
            var iterator = restarted.messages.makeAsyncIterator()
            let next = try await iterator.next()
            #expect(next?.offset == 25)
        }
    }
}

extension KafkaRoundTripTests {
    /// The producer hands values to librdkafka without a copy: what librdkafka reads must be the
    /// caller's value as sent, unchanged by writes to the caller's own copies (copy-on-write), and
    /// not a temporary the wrapper made and freed. (That the storage outlives the send is held by
    /// `send` itself, which waits for every report with its argument alive.)
    @Test("values read in place arrive intact while the sender changes its own copies")
    func valuesReadInPlace() async throws {
        let (cluster, topic) = try TestKafka.cluster()
        let producer = try TestKafka.producer(cluster) { $0.linger = .milliseconds(50) }
        let consumer = try await TestKafka.consumer(cluster, topic: topic, group: "g-\(UUID())")
        // Distinct contents and sizes (empty, small, above a page, 100 KiB).
        let sizes = [0, 1, 200, 5_000, 100_000]
        func expected(_ index: Int) -> [UInt8] {
            (0..<sizes[index % sizes.count]).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        }
        let count = 200
        try await withRunning([producer, consumer]) {
            var values = (0..<count).map(expected)
            let messages = values.indices.map { KafkaOutgoingMessage(topic: topic, key: Array("k-\($0)".utf8), value: values[$0]) }
            let sending = Task { try await producer.send(messages) }
            // While the batch waits for its reports (linger 50 ms), the sender overwrites and
            // drops its own references.
            for index in values.indices where !values[index].isEmpty {
                values[index].withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
            }
            values.removeAll()
            let reports = try await sending.value
            #expect(reports.count == count)

            var received: [Int: [UInt8]] = [:]
            for try await message in consumer.messages {
                received[Int(message.keyString!.dropFirst(2))!] = message.value
                if received.count == count { break }
            }
            for index in 0..<count where received[index] != expected(index) {
                Issue.record("message \(index) arrived changed or not at all (\(received[index]?.count ?? -1) bytes; \(expected(index).count) sent)")
            }
        }
    }
}

extension KafkaRoundTripTests {
    /// A send cancelled while it waits for room in librdkafka's queue used to throw at once and
    /// leave the messages it had enqueued behind: delivered or not, never reported, their batch
    /// never freed.
    @Test("a send cancelled while the local queue is full reports the messages it enqueued, then fails")
    func cancelledWhileQueueFull() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let producer = try TestKafka.producer(cluster) {
            $0.extra["queue.buffering.max.messages"] = "5"
            $0.linger = .milliseconds(500)
        }
        try await withRunning([producer]) {
            let messages = (0..<20).map { KafkaOutgoingMessage(topic: topic, key: "k\($0)", value: "v\($0)") }
            let sending = Task { try await producer.send(messages) }
            sending.cancel()
            let error = try await #require(throws: KafkaError.self) { try await sending.value }
            #expect(error.code == .closed)
            #expect(error.isRetriable)  // the relay tries such rows again without counting them as failed for good
            // When the send gave up, the five it had enqueued were acknowledged already.
            let high = try await producer.watermarks(KafkaTopicPartition(topic: topic, partition: 0)).high
            #expect(high == 5)
        }
    }
}

extension KafkaRoundTripTests {
    /// A send that found the producer running and enqueued its message only after the poll
    /// thread had stopped and run its last flush, purge and poll: nobody served that message's
    /// delivery report again, and the send waited for ever (in a worker, until the service
    /// group's time for cancellation ran out and it crashed the process).
    @Test("a send that meets the producer's shutdown between its check and its enqueue fails instead of hanging")
    func sendRacingShutdown() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let producer = try TestKafka.producer(cluster)
        let running = Task { try await producer.run() }
        try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k0", value: "before"))  // running
        producer.beforeFirstEnqueue = {
            running.cancel()
            _ = await running.result  // the poll thread has stopped and run its finish
        }
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        Task {
            do {
                try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k1", value: "during"))
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        let ended = try await eventually { outcome.withLock { $0 != nil } }
        #expect(ended, "the send is still waiting for a delivery report nobody will serve")
        guard case .failure(let error as KafkaError) = outcome.withLock({ $0 }) else {
            Issue.record("expected the send to fail with a KafkaError, got \(String(describing: outcome.withLock { $0 }))")
            return
        }
        #expect(error.code == .closed)
    }
}

extension KafkaRoundTripTests {
    /// Messages reach the application in batches of what one poll found fetched; a batch never
    /// takes more than the room the buffer limit leaves.
    @Test("the consumer hands over no more than its buffer limit, in order, however many are fetched")
    func bufferLimitWithBatches() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 1)
        let producer = try TestKafka.producer(cluster)
        let consumer = try await TestKafka.consumer(cluster, topic: topic, group: "g-\(UUID())") { $0.bufferedMessages = 10 }
        try await withRunning([producer, consumer]) {
            try await producer.send((0..<100).map { KafkaOutgoingMessage(topic: topic, key: "k", value: "m\($0)") })
            #expect(try await eventually { consumer.bufferedCount == 10 })
            var iterator = consumer.messages.makeAsyncIterator()
            var received: [String] = []
            // Each message taken makes room for one more: the buffer fills to the limit again
            // and no further, whatever else the poll thread finds fetched.
            for _ in 0..<3 {
                received.append(try #require(try await iterator.next()).valueString ?? "")
                #expect(try await eventually { consumer.bufferedCount == 10 })
                #expect(consumer.bufferedCount == 10)
            }
            while received.count < 100, let message = try await iterator.next() { received.append(message.valueString ?? "") }
            #expect(received == (0..<100).map { "m\($0)" })
            #expect(consumer.bufferedCount == 0)
        }
    }
}
