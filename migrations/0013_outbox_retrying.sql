-- The relay's index of rows backing off after a failed publish, outbox_waiting, listed every unsent
-- row, the ones never tried included: its predicate was outbox_unsent_aggregate's (sent_at IS
-- NULL), so the claim's "older unsent row of the same aggregate?" probe could be planned as a walk
-- through the whole of it. That walk also reads the entries of rows sent since the last vacuum:
-- after a burst, each claim read thousands of pages (20 to 120 ms a claim in the bench) and the
-- whole pipeline stalled behind the relay. Only a failed publish moves next_attempt_at past the
-- row's insert, and it counts the attempt, so the rows backing off are those with attempts > 0.
-- The probe cannot prove that, so it is planned over outbox_unsent_aggregate, as intended.
-- The new index is built before the old one goes: the build blocks writes to the outbox, not
-- reads; the DROP's exclusive lock is then held only for the moments before the COMMIT.
CREATE INDEX outbox_retrying ON messaging.outbox (next_attempt_at) WHERE sent_at IS NULL AND attempts > 0;
DROP INDEX messaging.outbox_waiting;
