/// A topic and partition.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)[\(partition)]" }
}

/// One header; Kafka allows repeated names, so headers are a list.
public struct KafkaHeader: Sendable, Hashable {
    public let name: String
    public let value: [UInt8]?
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
    public init(name: String, value: String) {
        self.init(name: name, value: Array(value.utf8))
    }
}

/// A message to send. The partition follows from the key (murmur2, as the Java client does).
public struct KafkaOutgoingMessage: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }
}

/// Where the broker stored a sent message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public let topicPartition: KafkaTopicPartition
    public let offset: Int64
}

/// A consumed message.
public struct KafkaMessage: Sendable, Hashable {
    public let topicPartition: KafkaTopicPartition
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker or producer set one.
    public let timestamp: Int64?

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String { String(decoding: value, as: UTF8.self) }

    /// The first header with this name, as text.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}
