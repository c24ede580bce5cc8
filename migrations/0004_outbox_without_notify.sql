-- The outbox no longer sends NOTIFY from the writers' transactions. PostgreSQL serialises the
-- commits of every transaction that notifies (a database-wide lock held through the commit's
-- WAL flush), so each order, reservation and mail commit waited its turn: measured with the order
-- pipeline's pgbench script, 970 orders/s with the trigger against 1,207 without, and under the
-- load test the stock rows' locks were held through that queue. The relay watches for new rows
-- itself instead (OUTBOX_WATCH_INTERVAL). The function stays: attach it to an outbox table whose
-- write rate is low, and the relay's LISTEN wakes it at once.
DROP TRIGGER IF EXISTS outbox_notify ON messaging.outbox;
