import AMQP
import Kafka

extension OutboxRelay {
    /// What became of a batch: the rows the broker acknowledged, and the first failed row of each
    /// aggregate that had one (its later rows were not sent, and stay for the next pass).
    struct Published {
        var sent: [Row] = []
        var failed: [(Row, any Error)] = []

        static func + (lhs: Published, rhs: Published) -> Published {
            Published(sent: lhs.sent + rhs.sent, failed: lhs.failed + rhs.failed)
        }
    }

    func publish(_ rows: [Row]) async -> Published {
        async let kafka = publishKafka(rows.filter { $0.destination.transport == .kafka })
        async let amqp = publishAMQP(rows.filter { $0.destination.transport == .amqp })
        return await kafka + amqp
    }

    /// Kafka keeps a partition's order (the producer is idempotent), so a batch goes in one call.
    /// Only when it fails are its rows sent one at a time, in order, to find which failed.
    private func publishKafka(_ rows: [Row]) async -> Published {
        guard !rows.isEmpty else { return Published() }
        guard let kafka else {
            return Self.failFirstOfEach(rows, MessagingError(.configuration, "outbox rows for Kafka, but the relay has no Kafka producer"))
        }
        do {
            try await kafka.send(rows.map { $0.envelope.kafkaMessage(topic: $0.destination.name) })
            return Published(sent: rows)
        } catch {
            logger.info("outbox batch failed; publishing its rows one by one", metadata: ["error": "\(error)"])
        }
        var result = Published()
        var blocked: Set<String> = []
        for row in rows where !blocked.contains(row.aggregate) {
            do {
                try await kafka.send(row.envelope.kafkaMessage(topic: row.destination.name))
                result.sent.append(row)
            } catch {
                blocked.insert(row.aggregate)
                result.failed.append((row, error))
                // A broker out of reach fails every row the same way, each after its time-out.
                if Self.isBrokerDown(error) { break }
            }
        }
        return result
    }

    /// RabbitMQ routes each message of a batch on its own (an unroutable one does not stop the
    /// ones after it), so rows go in waves: the first row of every aggregate, then the second,
    /// and so on, each message published and confirmed on its own (a whole wave at once). An
    /// aggregate whose row failed sends nothing more in this pass, so its order holds.
    private func publishAMQP(_ rows: [Row]) async -> Published {
        guard !rows.isEmpty else { return Published() }
        guard let amqp else {
            return Self.failFirstOfEach(rows, MessagingError(.configuration, "outbox rows for AMQP, but the relay has no AMQP connection"))
        }
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
            let outcomes = await withTaskGroup(of: (Row, (any Error)?).self) { group in
                for row in wave where !blocked.contains(row.aggregate) {
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
            var brokerDown = false
            for (row, error) in outcomes.sorted(by: { $0.0.id < $1.0.id }) {
                if let error {
                    blocked.insert(row.aggregate)
                    result.failed.append((row, error))
                    brokerDown = brokerDown || Self.isBrokerDown(error)
                } else {
                    result.sent.append(row)
                }
            }
            if brokerDown { break }
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
        HandlingFailure(error).isRetriable && (error as? AMQPError)?.code != .returned
    }

    private static func failFirstOfEach(_ rows: [Row], _ error: any Error) -> Published {
        var seen: Set<String> = []
        return Published(failed: rows.filter { seen.insert($0.aggregate).inserted }.map { ($0, error) })
    }
}
