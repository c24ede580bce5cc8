import ConnectionPool
import CRdKafka

/// A topic as the cluster describes it.
public struct KafkaTopicMetadata: Sendable, Hashable {
    public let name: String
    public let partitions: [Int32]
}

/// The oldest and the next offset of a partition.
public struct KafkaWatermarks: Sendable, Hashable {
    public let low: Int64
    public let high: Int64
}

/// Cluster metadata through any client handle (producer or consumer).
extension RDKafkaClient {
    func topics(timeout: Duration) async throws -> [KafkaTopicMetadata] {
        let client = self
        let milliseconds = Int32(timeout.wholeMilliseconds)
        return try await client.blocking {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(client.handle, 1, nil, &metadata, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(.client, "metadata", responseError: result)
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            return (0..<Int(metadata.pointee.topic_cnt)).map { index in
                let topic = metadata.pointee.topics[index]
                return KafkaTopicMetadata(
                    name: String(cString: topic.topic),
                    partitions: (0..<Int(topic.partition_cnt)).map { topic.partitions[$0].id }.sorted())
            }
        }
    }

    func watermarks(_ partition: KafkaTopicPartition, timeout: Duration) async throws -> KafkaWatermarks {
        let client = self
        let milliseconds = Int32(timeout.wholeMilliseconds)
        return try await client.blocking {
            var low: Int64 = 0
            var high: Int64 = 0
            let result = rd_kafka_query_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.client, "watermarks of \(partition)", responseError: result)
            }
            return KafkaWatermarks(low: low, high: high)
        }
    }
}

extension KafkaProducer {
    /// Every topic in the cluster and its partitions.
    public func topics(timeout: Duration = .seconds(10)) async throws -> [KafkaTopicMetadata] {
        try await client.topics(timeout: timeout)
    }

    /// A partition's low and high watermarks.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws -> KafkaWatermarks {
        try await client.watermarks(partition, timeout: timeout)
    }
}
