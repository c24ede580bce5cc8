-- The messaging runtime's transactional outbox and consumer inbox.

-- Events appended inside the writer's transaction; `emporium relay` publishes them and marks them
-- sent only after the broker's ack or publisher confirm.
CREATE TABLE messaging.outbox (
    id             bigserial PRIMARY KEY,
    -- Rows of one aggregate are published in id order.
    aggregate      text        NOT NULL,
    -- 'kafka' (destination = topic) or 'amqp' (destination = routing key on the work exchange).
    transport      text        NOT NULL CHECK (transport IN ('kafka', 'amqp')),
    destination    text        NOT NULL,
    message_id     uuid        NOT NULL UNIQUE,
    message_type   text        NOT NULL,
    schema_version integer     NOT NULL,
    message_key    text        NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text,
    traceparent    text,
    occurred_at    timestamptz NOT NULL,
    body           jsonb       NOT NULL,
    -- AMQP only: deliver this long after publishing (through the delay queues).
    delay_ms       bigint      NOT NULL DEFAULT 0 CHECK (delay_ms >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    -- Set when publishing failed for good (a non-retriable error, attempts used up): the relay
    -- skips the row; clearing it queues the row again.
    failed_at      timestamptz,
    attempts       integer     NOT NULL DEFAULT 0,
    -- After a failed publish the row waits until then (exponential backoff per row).
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error     text
);

-- The relay's claim walks this one in id order.
CREATE INDEX outbox_unsent ON messaging.outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;
-- The relay's "older unsent row of the same aggregate?" probe uses this one; its predicate differs
-- from outbox_unsent's on purpose, so that the probe (which cannot prove failed_at IS NULL) is
-- never planned over outbox_unsent, whatever the statistics say.
CREATE INDEX outbox_unsent_aggregate ON messaging.outbox (aggregate, id) WHERE sent_at IS NULL;
-- Rows backing off after a failed publish (few): their aggregates' later rows are not claimed.
CREATE INDEX outbox_waiting ON messaging.outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON messaging.outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wakes the relays when a writer commits (NOTIFY is delivered at commit, once per transaction).
CREATE FUNCTION messaging.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('messaging_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON messaging.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION messaging.notify_outbox();

-- One row per (consumer, message) handled, written in the handler's own transaction, so a
-- redelivered or replayed message has no second effect.
CREATE TABLE messaging.inbox (
    consumer     text        NOT NULL,
    message_id   uuid        NOT NULL,
    message_type text        NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE INDEX inbox_handled_at ON messaging.inbox (handled_at);
