// A consumer process for the conformance suite's crash test: it records each message's effect in
// the fixture's effects table (slowly, so that a SIGKILL lands mid-batch) until killed.
//
//   MessagingConformanceWorker <kafka|amqp> <fixture id> <kafka bootstrap or "-"> <handler delay ms>
import Foundation
import Kafka
import Logging
import Messaging
import MessagingConformance
import Postgres
import Redis
import ServiceLifecycle
import UnixSignals

let arguments = CommandLine.arguments
guard arguments.count == 5, let kind = TransportKind(rawValue: arguments[1]), let delay = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: MessagingConformanceWorker <kafka|amqp> <id> <bootstrap|-> <delay ms>\n".utf8))
    exit(2)
}
let fixture = ConformanceFixture(kind: kind, id: arguments[2], kafkaBootstrap: arguments[3])
let logger = ConformanceFixture.logger
let database = PostgresPool(configuration: try ConformanceFixture.postgres, logger: logger)
let redis = RedisPool(configuration: try ConformanceFixture.redis, logger: logger)
let processor = fixture.processor(
    handlers: fixture.recordingHandler(delay: .milliseconds(delay)), database: database, redis: redis)
var services: [any Service] = [database, redis]
var producer: KafkaProducer?
if kind == .kafka {
    producer = try KafkaProducer.make(configuration: KafkaProducerConfiguration(bootstrapServers: [fixture.kafkaBootstrap]), logger: logger)
    services.append(producer!)
}
services += try fixture.consumerServices(processor: processor, producer: producer)
print("ready")
try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
