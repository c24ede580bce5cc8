import AMQP
import Kafka
import Messaging
import Observability
import Postgres
import Redis

/// What `/health/ready` asks of each dependency, shared by the roles: a role is ready when the
/// database answers, its brokers answer, and each of its Kafka consumers is in its group.
enum ReadinessChecks {
    static func postgres(_ pool: PostgresPool) -> HealthCheck {
        HealthCheck("postgres") {
            guard (try? await pool.query("SELECT 1")) != nil else { throw ReadinessFailure(description: "primary unreachable") }
        }
    }

    static func redis(_ redis: RedisPool) -> HealthCheck {
        HealthCheck("redis") { _ = try await redis.command(["PING"]) }
    }

    /// Declaring the work exchange (idempotent) goes through the connection's own thread, so it
    /// fails, or does not answer in time, while the connection is down.
    static func rabbitmq(_ connection: AMQPConnection, workExchange: String) -> HealthCheck {
        HealthCheck("rabbitmq") { try await connection.declare(workTopology(workExchange)) }
    }

    static func workTopology(_ workExchange: String) -> AMQPTopology {
        AMQPTopology(exchanges: [AMQPExchange(name: workExchange, type: "direct")])
    }

    static func kafka(_ producer: KafkaProducer) -> HealthCheck {
        HealthCheck("kafka") { _ = try await producer.topics(timeout: .milliseconds(1_500)) }
    }

    /// A consumer is ready once it is subscribed, has its group's assignment, and a broker answers.
    static func consumer(_ consumer: KafkaMessageConsumer) -> HealthCheck {
        HealthCheck("kafka consumer \(consumer.topics.joined(separator: ","))") {
            try await consumer.checkReady(timeout: .milliseconds(1_500))
        }
    }
}

struct ReadinessFailure: Error, CustomStringConvertible {
    var description: String
}
