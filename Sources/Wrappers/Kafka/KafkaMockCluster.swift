import CRdKafka
import Processes
public import Logging

/// librdkafka's mock cluster (`rdkafka_mock.h`): brokers in this process speaking the real Kafka
/// protocol on random local ports, for development and tests where no broker can be installed.
///
/// Known limits: no CreateTopics (create topics here, or rely on auto-creation), transactions
/// are not honoured, replication is ignored, each partition keeps only about 5 MiB.
public final class KafkaMockCluster: @unchecked Sendable {
    private let client: RDKafkaClient
    private let cluster: OpaquePointer
    /// The brokers' addresses, `host:port,host:port,...`.
    public let bootstrapServers: String
    public let brokerCount: Int

    private init(client: RDKafkaClient, cluster: OpaquePointer, brokerCount: Int) {
        self.client = client
        self.cluster = cluster
        self.brokerCount = brokerCount
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    // The cluster runs on the client's threads: destroy it before the client.
    deinit { rd_kafka_mock_cluster_destroy(cluster) }

    public static func make(brokers: Int = 3, logger: Logger) throws -> KafkaMockCluster {
        // The brokers' connections take their socket options from this client's configuration.
        // Without TCP_NODELAY a broker's second response on a connection waits for the ACK of
        // its first, which the client delays by 40 ms (Nagle meeting delayed ACKs): a produce
        // spread over several partitions took 49 ms instead of 6. Kafka's brokers set it too.
        let client = try RDKafkaClient.make(type: RD_KAFKA_PRODUCER, properties: ["socket.nagle.disable": "true"], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(.client, "cannot start a mock cluster of \(brokers) brokers")
        }
        return KafkaMockCluster(client: client, cluster: cluster, brokerCount: brokers)
    }

    /// Creates a topic with `partitions` partitions (the mock has no CreateTopics request).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.client, "create topic \(name)", responseError: result)
        }
    }

    /// Takes a broker (1-based id) down or brings it back.
    ///
    /// Going down, librdkafka (2.0.2) closes the broker's listening socket and binds its port
    /// again at once, to keep it while down; if that bind fails it aborts the whole process. It
    /// fails when a child process is starting at that moment (a started child holds a copy of the
    /// old socket until its exec), so no `ChildProcess` may start meanwhile. Seen in the test
    /// suite, which starts fleets while other tests take brokers down.
    public func setBroker(_ id: Int32, up: Bool) {
        if up {
            _ = rd_kafka_mock_broker_set_up(cluster, id)
        } else {
            _ = ChildProcess.withNoneStarting { rd_kafka_mock_broker_set_down(cluster, id) }
        }
    }

    /// Takes every broker down or brings them all back.
    public func setAllBrokers(up: Bool) {
        for id in 1...Int32(brokerCount) { setBroker(id, up: up) }
    }
}
