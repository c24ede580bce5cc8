import ConnectionPool
import CRdKafka
import Glibc
public import Logging
public import ServiceLifecycle
import Synchronization

/// A member of a consumer group. Messages arrive through ``messages``; offsets are committed
/// only for what the application marks handled (``store(_:)``): explicitly with ``commit()``, in
/// the background every `commitInterval`, and before a rebalance takes partitions away (where the
/// broker still accepts it).
///
/// A `Service`: ``run()`` polls on a dedicated thread until graceful shutdown, then commits what
/// was handled and leaves the group.
public final class KafkaConsumer: Service, Sendable {
    let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    private let pollThread = KafkaPollThread(name: "kafka.consumer")
    /// Messages go to the application in batches: what one poll found already fetched, so a
    /// busy consumer wakes the consuming task once per batch rather than once per message.
    private let stream: AsyncThrowingStream<[KafkaMessage], any Error>
    private let continuation: AsyncThrowingStream<[KafkaMessage], any Error>.Continuation
    /// Messages handed to the stream and not yet taken by the application.
    private let buffered: AtomicCounter
    /// Set by ``stopFetching()``: the stream has ended, later messages are dropped uncommitted.
    private let fetchingStopped = AtomicCounter()

    private init(client: RDKafkaClient, configuration: KafkaConsumerConfiguration) {
        self.client = client
        self.configuration = configuration
        (stream, continuation) = AsyncThrowingStream.makeStream()
        buffered = AtomicCounter()
    }

    /// Creates the consumer and subscribes it to `topics`. Without topic auto-creation (the
    /// default), a topic that does not exist is an error here, before subscribing: a subscription's
    /// own metadata request could make a lenient broker create it.
    public static func make(configuration: KafkaConsumerConfiguration, topics: [String], logger: Logger) async throws -> KafkaConsumer {
        let client = try RDKafkaClient.make(type: RD_KAFKA_CONSUMER, properties: configuration.properties, logger: logger) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { client, reason, partitions, _ in
                guard let client else { return }
                rebalance(client, reason, partitions)
            }
        }
        if !configuration.allowAutoCreateTopics {
            let known = Set(try await client.topics(timeout: .seconds(10)).map(\.name))
            let missing = topics.filter { !known.contains($0) }
            guard missing.isEmpty else {
                throw KafkaError(
                    .client, "unknown topic \(missing.joined(separator: ", ")) (UNKNOWN_TOPIC_OR_PART; topic auto-creation is off)",
                    nativeCode: Int32(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue))
            }
        }
        rd_kafka_poll_set_consumer(client.handle)
        let list = TopicPartitionList(topics.map { (KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), nil) })
        let result = rd_kafka_subscribe(client.handle, list.pointer)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.client, "subscribe to \(topics.joined(separator: ", "))", responseError: result)
        }
        return KafkaConsumer(client: client, configuration: configuration)
    }

    /// The messages of the assigned partitions, in order per partition. Ends after shutdown; throws
    /// for a fatal error or a subscribed topic that does not exist (without auto-creation).
    public var messages: KafkaMessages { KafkaMessages(stream: stream, buffered: buffered) }

    /// Messages fetched and handed over, not yet taken from ``messages`` (at most
    /// `bufferedMessages`).
    var bufferedCount: Int { buffered.value }

    // MARK: - Offsets

    /// Marks `message` handled: its offset is committed by the next commit (explicit, at a
    /// rebalance, or at shutdown). A message from a partition no longer assigned is ignored; the
    /// member that owns it now will see it again.
    public func store(_ message: KafkaMessage) {
        let list = TopicPartitionList([(message.topicPartition, message.offset + 1)])
        _ = rd_kafka_offsets_store(client.handle, list.pointer)
    }

    /// Commits every handled offset, waiting for the broker.
    public func commit() async throws {
        let client = self.client
        try await client.blocking {
            let result = rd_kafka_commit(client.handle, nil, 0)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET else {
                throw KafkaError(.client, "commit", responseError: result)
            }
        }
    }

    /// Marks `message` handled and commits.
    public func commit(_ message: KafkaMessage) async throws {
        store(message)
        try await commit()
    }

    /// The group's committed offsets for `partitions` (nil where nothing is committed).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64?] {
        let client = self.client
        let milliseconds = Int32(timeout.wholeMilliseconds)
        return try await client.blocking {
            let list = TopicPartitionList(partitions.map { ($0, nil) })
            let result = rd_kafka_committed(client.handle, list.pointer, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.client, "committed offsets", responseError: result) }
            var offsets: [KafkaTopicPartition: Int64?] = [:]
            for (partition, offset, _) in TopicPartitionList.elements(of: list.pointer) {
                offsets[partition] = offset >= 0 ? offset : nil
            }
            return offsets
        }
    }

    /// How far the group is behind on each partition of `topic`: high watermark minus committed
    /// offset (minus the low watermark where nothing is committed).
    public func lag(topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32: Int64] {
        let partitions = try await client.topics(timeout: timeout).first { $0.name == topic }?.partitions ?? []
        let topicPartitions = partitions.map { KafkaTopicPartition(topic: topic, partition: $0) }
        let committed = try await committed(topicPartitions, timeout: timeout)
        var lag: [Int32: Int64] = [:]
        for partition in topicPartitions {
            let marks = try await client.watermarks(partition, timeout: timeout)
            lag[partition.partition] = marks.high - ((committed[partition] ?? nil) ?? marks.low)
        }
        return lag
    }

    /// The partition's watermarks as the last Fetch answer gave them (no request: librdkafka's
    /// cached values), or nil before any fetch of it.
    public func fetchedWatermarks(_ partition: KafkaTopicPartition) -> KafkaWatermarks? {
        var low: Int64 = 0
        var high: Int64 = 0
        let result = rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return KafkaWatermarks(low: low, high: high)
    }

    /// Whether this member holds an assignment of its group (possibly empty: more members than
    /// partitions): from the first assignment until the assignment is lost (not when it is only
    /// handed over in a rebalance).
    public var hasJoinedGroup: Bool {
        KafkaClientContext.of(client.handle)?.joinedGroup.withLock { $0 } ?? false
    }

    /// Asks the cluster for its metadata: throws when no broker answers within `timeout`.
    public func checkBrokers(timeout: Duration) async throws {
        _ = try await client.topics(timeout: timeout)
    }

    /// When `partition` was assigned to this member, or `nil` if it is not assigned now. Until the
    /// previous owner's in-flight work is surely over, a message may be in work there too.
    public func assignedAt(_ partition: KafkaTopicPartition) -> ContinuousClock.Instant? {
        KafkaClientContext.of(client.handle)?.assignments.withLock { $0[partition] }
    }

    // MARK: - Flow control

    /// Stops fetching from these partitions (already buffered messages still arrive).
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        let list = TopicPartitionList(partitions.map { ($0, nil) })
        let result = rd_kafka_pause_partitions(client.handle, list.pointer)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.client, "pause", responseError: result) }
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        let list = TopicPartitionList(partitions.map { ($0, nil) })
        let result = rd_kafka_resume_partitions(client.handle, list.pointer)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.client, "resume", responseError: result) }
    }

    /// Moves the fetch position of an assigned partition to `offset`, returning once the fetcher
    /// has taken it. A local operation, so no time-out: librdkafka before 2.1.0 (Debian ships
    /// 2.0.2) reads `rd_kafka_seek_partitions`'s time-out in the wrong unit (fixed upstream in
    /// PR #4230); on a loaded machine a seek given 10 s timed out in a test that ran 8 s in all.
    /// -1 waits for the fetcher, as other clients do.
    public func seek(_ partition: KafkaTopicPartition, to offset: Int64) async throws {
        let client = self.client
        try await client.blocking {
            let list = TopicPartitionList([(partition, offset)])
            if let error = rd_kafka_seek_partitions(client.handle, list.pointer, -1) {
                throw KafkaError(.client, "seek \(partition) to \(offset)", consuming: error)
            }
            if let failed = TopicPartitionList.elements(of: list.pointer).first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
                throw KafkaError(.client, "seek \(partition) to \(offset)", responseError: failed.error)
            }
        }
    }

    /// Every topic in the cluster and its partitions.
    public func topics(timeout: Duration = .seconds(10)) async throws -> [KafkaTopicMetadata] {
        try await client.topics(timeout: timeout)
    }

    /// Ends ``messages`` while the group membership stays up (commits, rebalances), so an owner
    /// can finish its in-flight work before ``shutdown()``. Messages fetched afterwards are
    /// dropped without being committed; the partition's next owner gets them.
    public func stopFetching() {
        if fetchingStopped.adding(1) == 1 { continuation.finish() }
    }

    /// Stops polling, commits what was handled and leaves the group; ``run()`` then returns. For
    /// owners that set `stopsOnGracefulShutdown` to false and finish their in-flight work first.
    public func shutdown() {
        pollThread.stop()
    }

    // MARK: - Service

    public func run() async throws {
        let client = self.client
        let continuation = self.continuation
        let buffered = self.buffered
        let limit = configuration.bufferedMessages
        let logger = client.logger
        let fetchingStopped = self.fetchingStopped
        await pollThread.run(stopsOnGracefulShutdown: configuration.stopsOnGracefulShutdown) {
            // Past the buffer limit, wait for the application instead of fetching more.
            // (rd_kafka_poll must not be called once the main queue goes to the consumer queue.)
            let room = limit - buffered.value
            if room <= 0 {
                usleep(1000)
                return
            }
            // Waits for one message (or a callback to serve), then takes what else is already
            // fetched without waiting, up to the room left: one hand-over for all of them.
            var batch: [KafkaMessage] = []
            var topicNames = TopicNames()
            var failure: KafkaError?
            var timeout: Int32 = 100
            while batch.count < min(room, Self.batchLimit), failure == nil,
                  let message = rd_kafka_consumer_poll(client.handle, timeout) {
                timeout = 0
                defer { rd_kafka_message_destroy(message) }
                switch Self.convert(message, topicNames: &topicNames) {
                case .message(let converted):
                    batch.append(converted)
                case .ignore:
                    break
                case .failure(let error):
                    if error.isFatal || error.nativeCode == Int32(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue) {
                        failure = error
                    } else {
                        logger.warning("kafka consumer error", metadata: ["error": "\(error)"])
                    }
                }
            }
            if !batch.isEmpty, fetchingStopped.value == 0 {
                buffered.add(batch.count)
                continuation.yield(batch)
            }
            if let failure { continuation.finish(throwing: failure) }
        } finish: {
            // Commit what was handled, then leave the group (which revokes, and commits again).
            _ = rd_kafka_commit(client.handle, nil, 0)
            _ = rd_kafka_consumer_close(client.handle)
            continuation.finish()
        }
    }

    private enum Polled {
        case message(KafkaMessage)
        case ignore
        case failure(KafkaError)
    }

    /// The most messages one hand-over carries.
    static let batchLimit = 500

    /// Topic names by librdkafka's topic handle, within one batch (a batch is mostly of a topic
    /// or two): the name's bytes are read and copied once, not once per message.
    struct TopicNames {
        private var last: (handle: OpaquePointer, name: String)?

        mutating func name(of handle: OpaquePointer) -> String {
            if let last, last.handle == handle { return last.name }
            let name = String(cString: rd_kafka_topic_name(handle))
            last = (handle, name)
            return name
        }
    }

    private static func convert(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: inout TopicNames) -> Polled {
        let message = pointer.pointee
        if message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .ignore }
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let topic = message.rkt.map { topicNames.name(of: $0) } ?? ""
            return .failure(KafkaError(.client, "consuming \(topic)", responseError: message.err))
        }
        let topic = topicNames.name(of: message.rkt)
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var headerValue: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(KafkaHeader(
                    name: name.map { String(cString: $0) } ?? "",
                    value: headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(pointer, &timestampType)
        return .message(KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: topic, partition: message.partition), offset: message.offset,
            key: key, value: value, headers: headers, timestamp: timestamp >= 0 ? timestamp : nil))
    }
}

/// The rebalance callback: commit the handled offsets of partitions before they go, take new ones.
private func rebalance(_ client: OpaquePointer, _ reason: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
    let cooperative = String(cString: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
    let logger = KafkaClientContext.of(client)?.logger
    switch reason {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let now = ContinuousClock.now
        let assigned = partitions.map { TopicPartitionList.elements(of: $0).map(\.0) } ?? []
        KafkaClientContext.of(client)?.assignments.withLock { assignments in
            for partition in assigned { assignments[partition] = now }
        }
        KafkaClientContext.of(client)?.joinedGroup.withLock { $0 = true }
        logger?.info("kafka partitions assigned", metadata: ["kafka.partitions": "\(partitions.map { TopicPartitionList.elements(of: $0).map(\.0) } ?? [])"])
        if cooperative {
            if let error = rd_kafka_incremental_assign(client, partitions) { rd_kafka_error_destroy(error) }
        } else {
            _ = rd_kafka_assign(client, partitions)
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        // Finished work is committed before another member takes these partitions over.
        // A broker may refuse it once the rebalance is under way (the mock cluster always does,
        // with REBALANCE_IN_PROGRESS); the background commit of handled offsets (every
        // `commitInterval`) bounds what the next owner sees again.
        let committed = rd_kafka_commit(client, nil, 0)
        if committed != RD_KAFKA_RESP_ERR_NO_ERROR && committed != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger?.info("kafka commit before revoke refused", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(committed)))"])
        }
        // Lost, not handed over (the session timed out, or the member was fenced): not a member
        // of the group until the next assignment.
        if rd_kafka_assignment_lost(client) != 0 {
            KafkaClientContext.of(client)?.joinedGroup.withLock { $0 = false }
        }
        let revoked = partitions.map { TopicPartitionList.elements(of: $0).map(\.0) } ?? []
        KafkaClientContext.of(client)?.assignments.withLock { assignments in
            for partition in revoked { assignments[partition] = nil }
        }
        logger?.info("kafka partitions revoked", metadata: ["kafka.partitions": "\(partitions.map { TopicPartitionList.elements(of: $0).map(\.0) } ?? [])"])
        if cooperative {
            if let error = rd_kafka_incremental_unassign(client, partitions) { rd_kafka_error_destroy(error) }
        } else {
            _ = rd_kafka_assign(client, nil)
        }
    default:
        logger?.warning("kafka rebalance error", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(reason)))"])
        _ = rd_kafka_assign(client, nil)
    }
}

/// The consumer's messages; taking one tells the poll thread there is room for more.
public struct KafkaMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaMessage
    let stream: AsyncThrowingStream<[KafkaMessage], any Error>
    let buffered: AtomicCounter

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<[KafkaMessage], any Error>.AsyncIterator
        let buffered: AtomicCounter
        /// The rest of the batch the last hand-over brought.
        var batch: [KafkaMessage] = []
        var position = 0

        public mutating func next() async throws -> KafkaMessage? {
            while position == batch.count {
                guard let more = try await base.next() else { return nil }
                (batch, position) = (more, 0)
            }
            let message = batch[position]
            position += 1
            if position == batch.count { (batch, position) = ([], 0) }  // the batch's storage goes now
            buffered.add(-1)
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), buffered: buffered)
    }
}
