import ConnectionPool
import Foundation

/// SplitMix64: a small generator whose whole state is the seed, so a seed replays a run's plan.
struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A uniformly drawn duration in `range`, to the millisecond.
    mutating func duration(_ range: ClosedRange<Duration>) -> Duration {
        .milliseconds(Int.random(in: range.lowerBound.wholeMilliseconds...range.upperBound.wholeMilliseconds, using: &self))
    }
}

/// What the run can do to the fleet and its servers.
enum FaultKind: String, CaseIterable, Sendable, Codable {
    /// SIGKILL of one process, restarted after `hold`.
    case kill = "process-kill"
    /// SIGSTOP for `hold` (longer than the Kafka session timeout), then SIGCONT.
    case stall = "process-stall"
    case rabbitmqRestart = "rabbitmq-restart"
    /// One broker of the mock cluster down for `hold`.
    case kafkaBrokerDown = "kafka-broker-down"
    case replicaStop = "postgres-replica-stop"
    case primaryRestart = "postgres-primary-restart"
    case redisStop = "redis-stop"
    /// A message that is not an envelope, written into the order topic.
    case poisonKafka = "poison-kafka"
    /// A `mail.send` whose body is not a command, published to the mail queue.
    case poisonAMQP = "poison-amqp"

    /// How often a long run picks each kind (process faults most: there are a dozen processes).
    var weight: Int {
        switch self {
        case .kill: 30
        case .stall: 14
        case .rabbitmqRestart, .replicaStop, .redisStop: 8
        case .kafkaBrokerDown: 12
        case .primaryRestart: 7
        case .poisonKafka, .poisonAMQP: 6
        }
    }
}

/// One fault of the plan: when (from the start of the load), what, on which target, for how long.
struct PlannedFault: Sendable, Codable {
    var at: Double
    var kind: FaultKind
    /// A process name, a broker id, or empty.
    var target: String
    var holdSeconds: Double
}

/// The faults of a run, drawn from the seed before it starts: the same seed, the same plan.
enum FaultPlan {
    /// `short`: each kind once, in a random order, spread over the first 80% of the load. Otherwise
    /// every kind once first, then weighted picks, a random gap after each fault's recovery being
    /// accounted for by spacing them `gap` apart (faults run one at a time).
    static func make(seed: UInt64, load: Duration, short: Bool, processes: [String], brokers: Int) -> [PlannedFault] {
        var random = SeededRandom(seed: seed)
        var kinds = FaultKind.allCases.shuffled(using: &random)
        let total = load.seconds
        var times: [Double] = []
        if short {
            // The same mock cluster also aborted on that assertion when a broker went down while a
            // group waited for a killed worker's replacement to rejoin (the pending JoinGroup is
            // sent again): the CI run takes its broker down before it kills anything.
            if let down = kinds.firstIndex(of: .kafkaBrokerDown), let kill = kinds.firstIndex(of: .kill), down > kill {
                kinds.swapAt(down, kill)
            }
            let slot = total * 0.8 / Double(kinds.count)
            times = kinds.indices.map { total * 0.05 + Double($0) * slot }
        } else {
            var at = 3.0
            while at < total - 5 {
                times.append(at)
                at += random.duration(.seconds(6)...(.seconds(18))).seconds
            }
            let weighted = FaultKind.allCases.flatMap { Array(repeating: $0, count: $0.weight) }
            while kinds.count < times.count { kinds.append(weighted.randomElement(using: &random)!) }
        }
        return zip(times, kinds).map { at, kind in
            let target: String
            let hold: Duration
            switch kind {
            case .kill:
                target = processes.randomElement(using: &random)!
                hold = random.duration(.milliseconds(200)...(.seconds(5)))
            case .stall:
                // librdkafka 2.0.2's mock cluster (Debian's) can abort on an assertion when a group
                // member that stalled past its session rejoins (rdkafka_mock_cgrp.c:567, seen here
                // once in a few stalls of a worker), taking the run with it; the CI run stalls an
                // API instance (no consumer group) so it cannot, long runs stall any process.
                let candidates = short ? processes.filter { $0.hasPrefix("api") } : processes
                target = (candidates.isEmpty ? processes : candidates).randomElement(using: &random)!
                hold = random.duration(.seconds(7)...(.seconds(12)))
            case .kafkaBrokerDown:
                target = String(Int.random(in: 1...brokers, using: &random))
                hold = random.duration(.seconds(2)...(.seconds(8)))
            case .replicaStop, .redisStop, .primaryRestart:
                target = ""
                hold = random.duration(.milliseconds(500)...(.seconds(4)))
            case .rabbitmqRestart, .poisonKafka, .poisonAMQP:
                target = ""
                hold = .zero
            }
            return PlannedFault(at: at, kind: kind, target: target, holdSeconds: hold.seconds)
        }
    }
}

/// A fault as it happened.
struct InjectedFault: Sendable, Codable {
    var kind: FaultKind
    var target: String
    /// Seconds from the start of the load.
    var started: Double
    var ended: Double
    /// Wall-clock time of the disruption (a kill's signal), to place a duplicate mail next to it.
    var startedAt: Date
    var error: String?
}
