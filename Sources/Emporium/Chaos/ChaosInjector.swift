import AMQP
import Contracts
import Foundation
import Kafka
import Processes
import Synchronization

/// Carries out a ``FaultPlan`` against the fleet and the local services, one fault at a time, and
/// records what it did. The servers are the machine's (services.sh): a RabbitMQ restart or a
/// primary restart touches everything running on them.
final class ChaosInjector: Sendable {
    let fleet: ChaosFleet
    let cluster: KafkaMockCluster
    let servicesScript: String
    let producer: KafkaProducer
    let amqp: AMQPConnection
    let workExchange: String
    let logDirectory: URL
    private let injected = Mutex<[InjectedFault]>([])
    /// The markers of the poison messages written, by where they went.
    private let poison = Mutex<[(kind: FaultKind, marker: String)]>([])

    init(
        fleet: ChaosFleet, cluster: KafkaMockCluster, servicesScript: String, producer: KafkaProducer, amqp: AMQPConnection,
        workExchange: String, logDirectory: URL
    ) {
        self.fleet = fleet
        self.cluster = cluster
        self.servicesScript = servicesScript
        self.producer = producer
        self.amqp = amqp
        self.workExchange = workExchange
        self.logDirectory = logDirectory
    }

    var faults: [InjectedFault] { injected.withLock { $0 } }
    var poisonMarkers: [(kind: FaultKind, marker: String)] { poison.withLock { $0 } }

    /// Runs the plan from `start` until it is done or `deadline` passes (a fault that would start
    /// later is left out).
    func run(_ plan: [PlannedFault], from start: ContinuousClock.Instant, until deadline: ContinuousClock.Instant) async {
        for fault in plan {
            let due = start + .milliseconds(Int64(fault.at * 1000))
            guard due < deadline, !Task.isCancelled else { break }
            try? await Task.sleep(until: due, clock: .continuous)
            guard !Task.isCancelled else { break }
            let began = ContinuousClock.now
            let startedAt = Date()
            var failure: String?
            do {
                try await inject(fault)
            } catch {
                failure = "\(error)"
            }
            let record = InjectedFault(
                kind: fault.kind, target: fault.target, started: (began - start).seconds, ended: (ContinuousClock.now - start).seconds,
                startedAt: startedAt, error: failure)
            injected.withLock { $0.append(record) }
            let line = "[chaos] \(String(format: "%7.1f", record.started))s \(fault.kind.rawValue) \(fault.target)"
                + (fault.holdSeconds > 0 ? " for \(fault.holdSeconds)s" : "") + (failure.map { ": FAILED \($0)" } ?? "")
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    private func inject(_ fault: PlannedFault) async throws {
        let hold = Duration.milliseconds(Int64(fault.holdSeconds * 1000))
        switch fault.kind {
        case .kill:
            try await fleet.kill(fault.target)
            try await Task.sleep(for: hold)
            try fleet.start(fault.target)
        case .stall:
            fleet.signal(fault.target, SIGSTOP)
            try? await Task.sleep(for: hold)
            fleet.signal(fault.target, SIGCONT)
        case .rabbitmqRestart:
            try await services("rabbitmq-restart")
        case .kafkaBrokerDown:
            let broker = Int32(fault.target) ?? 1
            cluster.setBroker(broker, up: false)
            try? await Task.sleep(for: hold)
            cluster.setBroker(broker, up: true)
        case .replicaStop:
            try await services("replica-stop")
            try? await Task.sleep(for: hold)
            try await services("replica-start")
        case .primaryRestart:
            try await services("primary-stop")
            try? await Task.sleep(for: hold)
            try await services("primary-start")
        case .redisStop:
            try await services("redis-stop")
            try? await Task.sleep(for: hold)
            try await services("redis-start")
        case .poisonKafka:
            let marker = "chaos-poison-\(UUID().uuidString.lowercased())"
            // A broker just taken down and up can time a delivery out: the poison is sent again.
            for attempt in 1...5 {
                do {
                    _ = try await producer.send(KafkaOutgoingMessage(topic: Destinations.orderTopic, key: marker, value: "\(marker): not an envelope {"))
                    break
                } catch where attempt < 5 {
                    try await Task.sleep(for: .seconds(1))
                }
            }
            poison.withLock { $0.append((.poisonKafka, marker)) }
        case .poisonAMQP:
            let marker = "chaos-poison-\(UUID().uuidString.lowercased())"
            try await amqp.publish(AMQPOutgoingMessage(
                exchange: workExchange, routingKey: Destinations.mailKey, body: Array("\(marker): not a command {".utf8), messageID: marker,
                contentType: "application/json", type: MailSend.messageType))
            poison.withLock { $0.append((.poisonAMQP, marker)) }
        }
    }

    /// `services.sh <command>`, its output appended to the run's services.log.
    func services(_ command: String) async throws {
        let log = logDirectory.appendingPathComponent("services.log").path
        let child = try ChildProcess(["/bin/sh", "-c", "exec bash '\(servicesScript)' \(command) >> '\(log)' 2>&1"])
        let status = try await child.wait(timeout: .seconds(180))
        guard status == 0 else { throw ChaosError("services.sh \(command) exited with wait status \(status) (see \(log))") }
    }

    /// After the load: whatever a fault left down comes back (a process killed and not yet
    /// restarted, a stopped one, a broker, the servers).
    func restoreEverything() async {
        for member in fleet.members { fleet.signal(member.name, SIGCONT) }
        cluster.setAllBrokers(up: true)
        for command in ["primary-start", "replica-start", "redis-start"] { try? await services(command) }
        for name in fleet.notRunning() { try? fleet.start(name) }
    }
}
