import AMQP
import Kafka

extension OutboxRelay {
    /// What became of a batch: the rows the broker acknowledged, and the first failed row of each
    /// aggregate that had one (its later rows were not sent, and stay for the next pass).
    struct Published {
        var sent: [Row] = []
        var failed: [(Row, any Error)] = []
        /// A broker was out of reach: the pass stops there.
        var brokerDown = false

        static func + (lhs: Published, rhs: Published) -> Published {
            Published(sent: lhs.sent + rhs.sent, failed: lhs.failed + rhs.failed, brokerDown: lhs.brokerDown || rhs.brokerDown)
        }
    }

    /// Publishes in waves: the first row of every aggregate, then the second, and so on. A wave
    /// holds one row per aggregate, so its rows may go out in any order and at once (Kafka in one
    /// call, RabbitMQ one confirmed message each); an aggregate whose row failed, on either
    /// broker, sends nothing more in this pass, so its rows keep their order. (RabbitMQ routes
    /// each message of a batch on its own: without waves, the rows after an unroutable one would
    /// overtake it.)
    func publish(_ rows: [Row]) async -> Published {
        var waves: [[Row]] = []
        var depth: [String: Int] = [:]
        for row in rows {
            let wave = depth[row.aggregate, default: 0]
            depth[row.aggregate] = wave + 1
            if waves.count == wave { waves.append([]) }
            waves[wave].append(row)
        }
        var result = Published()
        var blocked: Set<String> = []
        for wave in waves {
            let live = wave.filter { !blocked.contains($0.aggregate) }
            async let kafka = publishKafka(live.filter { $0.destination.transport == .kafka })
            async let amqp = publishAMQP(live.filter { $0.destination.transport == .amqp })
            let outcome = await kafka + amqp
            result = result + outcome
            for (row, _) in outcome.failed { blocked.insert(row.aggregate) }
            if outcome.brokerDown { break }
        }
        return result
    }

    /// One wave's Kafka rows (one per aggregate) in one call; only when it fails are they sent one
    /// at a time, to find which failed.
    private func publishKafka(_ rows: [Row]) async -> Published {
        guard !rows.isEmpty else { return Published() }
        guard let kafka else {
            return Published(failed: rows.map { ($0, MessagingError(.configuration, "outbox rows for Kafka, but the relay has no Kafka producer")) })
        }
        do {
            try await kafka.send(rows.map { $0.envelope.kafkaMessage(topic: $0.destination.name) })
            return Published(sent: rows)
        } catch {
            logger.info("outbox batch failed; publishing its rows one by one", metadata: ["error": "\(error)"])
        }
        var result = Published()
        for row in rows {
            do {
                try await kafka.send(row.envelope.kafkaMessage(topic: row.destination.name))
                result.sent.append(row)
            } catch {
                result.failed.append((row, error))
                // A broker out of reach fails every row the same way, each after its time-out.
                if Self.isBrokerDown(error) {
                    result.brokerDown = true
                    break
                }
            }
        }
        return result
    }

    /// One wave's RabbitMQ rows (one per aggregate), each published and confirmed on its own, all
    /// at once.
    private func publishAMQP(_ rows: [Row]) async -> Published {
        guard !rows.isEmpty else { return Published() }
        guard let amqp else {
            return Published(failed: rows.map { ($0, MessagingError(.configuration, "outbox rows for AMQP, but the relay has no AMQP connection")) })
        }
        let outcomes = await withTaskGroup(of: (Row, (any Error)?).self) { group in
            for row in rows {
                group.addTask {
                    do {
                        try await amqp.publish(try self.amqpMessage(row))
                        return (row, nil)
                    } catch {
                        return (row, error)
                    }
                }
            }
            var outcomes: [(Row, (any Error)?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        var result = Published()
        for (row, error) in outcomes.sorted(by: { $0.0.id < $1.0.id }) {
            if let error {
                result.failed.append((row, error))
                result.brokerDown = result.brokerDown || Self.isBrokerDown(error)
            } else {
                result.sent.append(row)
            }
        }
        return result
    }

    private func amqpMessage(_ row: Row) throws -> AMQPOutgoingMessage {
        let message = row.envelope.amqpMessage(exchange: delays?.workExchange ?? "emporium.work", routingKey: row.destination.name)
        guard row.destination.delay > .zero else { return message }
        guard let delays else { throw MessagingError(.configuration, "a delayed outbox row, but the relay has no delay levels") }
        return delays.schedule(message, after: row.destination.delay)
    }

    /// A broker out of reach, rather than one message refused.
    private static func isBrokerDown(_ error: any Error) -> Bool {
        HandlingFailure(error).isRetriable && !isUnrouted(error)
    }
}
