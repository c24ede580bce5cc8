-- No statistics for the columns that only carry a message or an answer. No query filters, joins,
-- groups or sorts on them, so no plan reads their statistics, but every ANALYZE computes them
-- from a sample of up to 30,000 rows: the distinct values and most common values of JSON bodies,
-- keys, ids and traceparents that are all different. Autovacuum analyzes the outbox and the
-- idempotency keys whenever a tenth of their rows changed, which at a steady few hundred orders a
-- second is about every minute, and it took 0.8 s and 0.37 s of a core for them in the bench
-- (117,000 and 29,000 rows), in one burst with the other tables (docs/benchmarks.md, "What a slow
-- second is short of"). The columns that queries do use (ids, aggregate, destination, message
-- type, the times and attempts) keep their statistics. Changing a column's statistics target
-- takes a SHARE UPDATE EXCLUSIVE lock only: writes go on.
ALTER TABLE messaging.outbox
    ALTER COLUMN body SET STATISTICS 0,
    ALTER COLUMN message_key SET STATISTICS 0,
    ALTER COLUMN correlation_id SET STATISTICS 0,
    ALTER COLUMN causation_id SET STATISTICS 0,
    ALTER COLUMN traceparent SET STATISTICS 0,
    ALTER COLUMN last_error SET STATISTICS 0;
ALTER TABLE ordering.idempotency_keys
    ALTER COLUMN response_body SET STATISTICS 0;
