import Foundation

/// Interop mode (`eval "$(deploy/local/interop.sh env)"`): EMPORIUM_INTEROP_KAFKA=1 with
/// KAFKA_BOOTSTRAP_SERVERS naming an external Kafka-protocol broker (Tansu), reached through the
/// librdkafka that LD_LIBRARY_PATH puts first (2.16). The tests that support it use that broker
/// instead of an in-process mock cluster, and create their topics through CreateTopics.
public enum InteropKafka {
    /// The external broker's addresses in interop mode, or `nil`.
    public static var bootstrapServers: String? {
        let environment = ProcessInfo.processInfo.environment
        guard environment["EMPORIUM_INTEROP_KAFKA"] == "1",
            let servers = environment["KAFKA_BOOTSTRAP_SERVERS"], !servers.isEmpty
        else { return nil }
        return servers
    }

    public static var isOn: Bool { bootstrapServers != nil }
}
