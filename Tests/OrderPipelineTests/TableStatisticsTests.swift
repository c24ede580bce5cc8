import EmporiumTestSupport
import Postgres
import Testing

/// The columns that only carry a message or an answer get no statistics (migration 0014): every
/// automatic ANALYZE of the outbox and the idempotency keys computed them for nothing, in a burst
/// the pipeline felt (docs/benchmarks.md, "What a slow second is short of").
@Suite("Statistics of the busiest tables", .timeLimit(.minutes(5)))
struct TableStatisticsTests {
    @Test("the outbox's and idempotency keys' payload columns have no statistics; the columns queries use keep theirs")
    func payloadsWithoutStatistics() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let targets = try await fleet.database.query("""
            SELECT c.relnamespace::regnamespace::text || '.' || c.relname || '.' || a.attname AS name, a.attstattarget::bigint AS target
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.oid IN ('messaging.outbox'::regclass, 'ordering.idempotency_keys'::regclass) AND a.attnum > 0 AND NOT a.attisdropped
            """).reduce(into: [String: Int]()) { targets, row in
            targets[try row.decode("name", as: String.self)] = Int(try row.decode("target", as: Int64.self))
        }
        let payloads = ["body", "message_key", "correlation_id", "causation_id", "traceparent", "last_error"].map { "messaging.outbox.\($0)" }
            + ["ordering.idempotency_keys.response_body"]
        for column in payloads { #expect(targets[column] == 0, "\(column): \(targets[column].map(String.init) ?? "missing")") }
        let used = ["id", "aggregate", "destination", "message_type", "created_at", "sent_at", "failed_at", "attempts", "next_attempt_at"]
            .map { "messaging.outbox.\($0)" } + ["ordering.idempotency_keys.customer_id", "ordering.idempotency_keys.created_at"]
        for column in used { #expect(targets[column] == -1, "\(column): \(targets[column].map(String.init) ?? "missing")") }
    }
}
