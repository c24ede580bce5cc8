import EmporiumTestSupport
import Foundation
import Testing

/// Delayed messages across a broker restart. A restarted RabbitMQ recovers its queues before its
/// exchanges, so a delay queue's dead-letter worker can find the due exchange missing and park
/// what came due during the outage until its publisher-confirm time-out (180 s by default, reset
/// by every restart): a chaos run (seed 4004) saw every timer of six minutes delivered 12 minutes
/// late. The local broker is configured to try again after 5 s (deploy/local/services.sh). (A
/// restart in a test does not show the delay: with a few queues, the exchanges are back before
/// the dead-letter workers look; it took the chaos run's hundreds of queues.)
@Suite("Delays across a broker restart", .timeLimit(.minutes(5)))
struct DelayRecoveryTests {
    @Test("the broker retries parked dead letters within seconds, not minutes", .usesRabbitMQ)
    func parkedDeadLettersRetrySoon() async throws {
        let output = try await ChildProcess.shell(
            "bash '\(ServicesScript.path)' rabbitmqctl eval 'application:get_env(rabbit, dead_letter_worker_publisher_confirm_timeout).'",
            // rabbitmqctl boots an Erlang VM; on two cores busy with the whole suite that took
            // over a minute (a CI run).
            timeout: .seconds(180))
        let milliseconds = output.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.first
        #expect(milliseconds.map { $0 <= 10_000 } == true, "dead_letter_worker_publisher_confirm_timeout: \(output)")
    }
}
