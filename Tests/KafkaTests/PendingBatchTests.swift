@testable import Kafka
import Testing

/// The bookkeeping of a batch's delivery reports, fed the way the poll thread feeds it (reports of
/// different partitions arrive in any order).
@Suite("Kafka producer: a batch's delivery reports")
struct PendingBatchTests {
    private func batch(_ count: Int) -> PendingBatch {
        PendingBatch(messages: (0..<count).map { KafkaOutgoingMessage(topic: "t\($0 % 2)", key: nil, value: [UInt8($0)]) })
    }

    @Test("reports come back in the order of the messages, whatever order they arrived in")
    func reportsInMessageOrder() async throws {
        let batch = batch(4)
        for index in [2, 0, 3, 1] {
            PendingBatch.complete(batch.opaque(for: index), partition: Int32(index % 3), offset: Int64(100 + index), error: nil)
        }
        let reports = try await batch.reports()
        #expect(reports.map(\.offset) == [100, 101, 102, 103])
        #expect(reports.map(\.topicPartition) == (0..<4).map { KafkaTopicPartition(topic: "t\($0 % 2)", partition: Int32($0 % 3)) })
    }

    @Test("the failure of the earliest message is the one thrown, whichever failed first")
    func earliestFailureWins() async throws {
        let batch = batch(4)
        PendingBatch.complete(batch.opaque(for: 3), partition: 0, offset: -1, error: KafkaError(.delivery, "third"))
        PendingBatch.complete(batch.opaque(for: 0), partition: 0, offset: 7, error: nil)
        PendingBatch.complete(batch.opaque(for: 1), partition: 1, offset: -1, error: KafkaError(.timedOut, "first"))
        PendingBatch.complete(batch.opaque(for: 2), partition: 1, offset: 8, error: nil)
        let error = try await #require(throws: KafkaError.self) { try await batch.reports() }
        #expect(error.message == "first")
    }

    @Test("a send that stopped enqueueing ends once the enqueued messages are reported, with its own failure")
    func stoppedEnqueueing() async throws {
        let batch = batch(5)
        let waiting = Task { try await batch.reports() }
        batch.fail(from: 2, KafkaError(.closed, "stopped"))
        PendingBatch.complete(batch.opaque(for: 1), partition: 0, offset: 1, error: nil)
        PendingBatch.complete(batch.opaque(for: 0), partition: 0, offset: 0, error: nil)
        let error = try await #require(throws: KafkaError.self) { try await waiting.value }
        #expect(error.code == .closed)
    }
}
