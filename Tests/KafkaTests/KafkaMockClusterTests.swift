import EmporiumTestSupport
import Foundation
import Kafka
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Kafka mock cluster", .timeLimit(.minutes(1)))
struct KafkaMockClusterTests {
    /// Without TCP_NODELAY on the brokers' side, a broker's next response on a connection waited
    /// for the ACK of the previous one, which the client delays by 40 ms: every produce spread
    /// over several partitions took about 49 ms instead of 6 (the relay's batches, and with them
    /// the whole pipeline in tests and benchmarks). Kafka's own brokers set TCP_NODELAY.
    @Test("the brokers' connections send without delay (TCP_NODELAY), as Kafka's brokers do")
    func brokerSocketsDisableNagle() async throws {
        let (cluster, topic) = try TestKafka.cluster(partitions: 16)
        let producer = try TestKafka.producer(cluster)
        let ports = Set(cluster.bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } })
        #expect(ports.count == 3)
        try await withRunning([producer]) {
            // Keys over every partition, so the producer connects to every broker.
            _ = try await producer.send((0..<64).map { KafkaOutgoingMessage(topic: topic, key: "key-\($0)", value: "v") })
            let accepted = Self.acceptedSockets(localPorts: ports)
            #expect(Set(accepted.map(\.port)) == ports, "a connection on every broker: \(accepted)")
            let withoutNoDelay = accepted.filter { !$0.noDelay }
            #expect(withoutNoDelay.isEmpty, "broker connections without TCP_NODELAY: \(withoutNoDelay) of \(accepted)")
        }
    }

    /// This process's connected TCP sockets whose local port is one of `localPorts` (the brokers'
    /// ends of the connections), with whether TCP_NODELAY is set on each.
    static func acceptedSockets(localPorts: Set<UInt16>) -> [(port: UInt16, noDelay: Bool)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap(Int32.init).compactMap { fd in
            var local = sockaddr_in()
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            guard named == 0, local.sin_family == sa_family_t(AF_INET) else { return nil }
            let port = UInt16(bigEndian: local.sin_port)
            guard localPorts.contains(port) else { return nil }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let connected = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } }
            guard connected == 0 else { return nil }  // a listening socket
            var flag: Int32 = 0
            var flagLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &flag, &flagLength) == 0 else { return nil }
            return (port, flag != 0)
        }
    }
}
