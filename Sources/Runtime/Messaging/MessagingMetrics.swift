import CoreMetrics

/// The runtime's metrics, through swift-metrics (exported at `/metrics` by each process).
///
/// - `messaging_messages_total{consumer,type,outcome}`: outcome is `handled`, `duplicate`,
///   `ignored`, `failed`, `retried`, `dead_lettered`, `forwarded` (a delayed message that came
///   early, sent on to its next delay level: a hop beyond the first delayed publish), or
///   `race_lost` (a handler's decision refused at its commit by a constraint it declared,
///   `MessageHandlers.decideAgain(whenViolated:)`, and handled again at once).
/// - `messaging_handler_duration_seconds{consumer,type}`.
/// - `messaging_consumer_lag{consumer,topic,partition}` (Kafka).
/// - `messaging_outbox_backlog`, `messaging_outbox_oldest_unsent_seconds`, `messaging_outbox_parked`,
///   `messaging_outbox_published_total{transport}`.
/// - `messaging_queue_depth{queue}`.
struct MessagingMetrics: Sendable {
    let factory: any MetricsFactory

    enum Outcome: String {
        case handled, duplicate, ignored, failed, retried, forwarded
        case deadLettered = "dead_lettered"
        case raceLost = "race_lost"
    }

    func count(_ outcome: Outcome, consumer: String, type: String) {
        messages(outcome, consumer: consumer, type: type).increment()
    }

    private func messages(_ outcome: Outcome, consumer: String, type: String) -> Counter {
        Counter(label: "messaging_messages_total", dimensions: [
            ("consumer", consumer), ("type", type), ("outcome", outcome.rawValue),
        ], factory: factory)
    }

    /// Creates the failure series of `consumer` at zero, for each of `types` and `unknown` (what
    /// cannot be read): a rate or an increase over a series that appears with its first failure
    /// misses that failure, so the dashboards and alerts would not see the first dead letter.
    func prepare(consumer: String, types: [String]) {
        for type in types + ["unknown"] {
            for outcome in [Outcome.failed, .retried, .deadLettered] {
                messages(outcome, consumer: consumer, type: type).increment(by: 0)
            }
        }
    }

    func handlerDuration(consumer: String, type: String, _ duration: Duration) {
        Timer(label: "messaging_handler_duration_seconds", dimensions: [("consumer", consumer), ("type", type)], factory: factory)
            .record(duration: duration)
    }

    func consumerLag(consumer: String, topic: String, partition: Int32, _ lag: Int64) {
        Gauge(label: "messaging_consumer_lag", dimensions: [
            ("consumer", consumer), ("topic", topic), ("partition", String(partition)),
        ], factory: factory).record(lag)
    }

    func outbox(backlog: Int, oldestUnsentSeconds: Double, parked: Int) {
        Gauge(label: "messaging_outbox_backlog", factory: factory).record(backlog)
        Gauge(label: "messaging_outbox_oldest_unsent_seconds", factory: factory).record(oldestUnsentSeconds)
        Gauge(label: "messaging_outbox_parked", factory: factory).record(parked)
    }

    func published(_ count: Int, transport: MessageDestination.Transport) {
        Counter(label: "messaging_outbox_published_total", dimensions: [("transport", transport.rawValue)], factory: factory)
            .increment(by: count)
    }

    func delayQueueDepth(queue: String, _ depth: Int) {
        Gauge(label: "messaging_queue_depth", dimensions: [("queue", queue)], factory: factory).record(depth)
    }
}
