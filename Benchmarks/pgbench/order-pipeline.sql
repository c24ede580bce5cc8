-- One order through the pipeline, as the database sees it: the three transactions our services
-- run for it, with their statements (Sources/Domains/Ordering/OrderService.swift `insert`,
-- Sources/Domains/Catalog/StockReservations.swift `reserve`, OrderLifecycle.swift `stockReserved`,
-- the inbox insert of MessageProcessor.swift, the outbox insert of Outbox.swift). One pgbench
-- transaction = one order: its TPS is the orders per second the database alone allows, the
-- reference `emporium loadtest` is compared with (Benchmarks/run.sh, "order pipeline").
--
-- Needs a migrated database with the products PGB-0 .. PGB-19 in catalog.products, catalog.stock
-- and ordering.catalog (run.sh seeds them). Run with -M prepared: parameters inside
-- jsonb_build_object need explicit casts there.

-- Many customers, as the load test has (a new one every five orders): the API counts the unpaid orders
-- of each before placing another.
\set customer random(1, 100000)
\set key random(1, 9000000000000000000)
\set nlines random(1, 3)
\set base random(0, 19)
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)

-- (a) The API, POST /orders: the unpaid-orders count, the prices from the catalog copy, the idempotency row + order +
-- lines + first history entry in one statement, and the 2 outbox rows (order.created; the first timer, payment reminder 1, which
-- schedules the next when it fires) in another. (The API looks a key up only when its insert
-- finds it taken.) Its statements run on generic plans, as the API's transaction asks
-- (withTransaction(plans: .generic)).
BEGIN;
SET LOCAL plan_cache_mode = force_generic_plan;
-- The limits on unpaid orders: a lock per customer, then the count.
-- (chr(58) is the colon of the API's key: pgbench would read one in the literal as a variable.)
SELECT pg_advisory_xact_lock(hashtextextended('ordering.open-orders' || chr(58) || 'pgb-' || :customer::text, 0));
SELECT count(DISTINCT o.id)::integer AS orders, COALESCE(sum(l.quantity), 0)::integer AS units
FROM ordering.orders o JOIN ordering.order_lines l ON l.order_id = o.id
WHERE o.customer_id = 'pgb-' || :customer::text AND o.status = 'PENDING';
-- The API selects the rows and builds the arrays and JSON in Swift; here Postgres builds them.
SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS created_id,
    array_agg(c.sku ORDER BY w.n)::text AS skus, array_agg(c.name ORDER BY w.n)::text AS names,
    array_agg(c.price_minor ORDER BY w.n)::text AS prices, array_agg(w.quantity ORDER BY w.n)::text AS quantities,
    sum(c.price_minor * w.quantity) AS total, min(c.currency) AS currency,
    json_agg(json_build_object('sku', c.sku, 'name', c.name, 'quantity', w.quantity, 'unitPriceMinor', c.price_minor,
        'lineTotalMinor', c.price_minor * w.quantity) ORDER BY w.n)::text AS order_lines,
    array_agg(c.sku ORDER BY c.sku)::text AS reserve_skus, array_agg(w.quantity ORDER BY c.sku)::text AS reserve_quantities,
    json_agg(json_build_object('sku', c.sku, 'quantity', w.quantity) ORDER BY c.sku)::text AS stock_lines
FROM (SELECT n, 'PGB-' || ((:base::integer + n * 7) % 20) AS sku, (ARRAY[:q1::integer, :q2::integer, :q3::integer])[n] AS quantity
      FROM generate_series(1, :nlines::integer) AS n) w
JOIN ordering.catalog c ON c.sku = w.sku AND NOT c.deleted
\gset

WITH idempotency AS (
    INSERT INTO ordering.idempotency_keys (customer_id, idempotency_key, fingerprint, order_id, response_status, response_body)
    VALUES ('pgb-' || :customer, 'pgb-' || :key, :skus::text || :quantities::text, :order_id::uuid, 201,
        jsonb_build_object('id', :order_id::text, 'customerId', 'pgb-' || :customer, 'status', 'PENDING'::text,
            'stock', 'awaiting'::text, 'currency', :currency::text, 'totalMinor', :total::bigint, 'lines', :order_lines::jsonb,
            'createdAt', now(), 'updatedAt', now()))
    ON CONFLICT DO NOTHING
    RETURNING order_id
), created AS (
    INSERT INTO ordering.orders (id, customer_id, status, currency, total_minor, created_at, updated_at)
    SELECT order_id, 'pgb-' || :customer, 'PENDING', :currency::text, :total::bigint, now(), now() FROM idempotency
    RETURNING id
), lines AS (
    INSERT INTO ordering.order_lines (order_id, line_number, sku, name, quantity, unit_price_minor)
    SELECT created.id, l.n, l.sku, l.name, l.quantity, l.price
    FROM created, unnest(:skus::text[], :names::text[], :quantities::integer[], :prices::bigint[])
        WITH ORDINALITY AS l(sku, name, quantity, price, n)
)
INSERT INTO ordering.status_history (order_id, from_status, to_status, cause_kind, cause_id, actor, at)
SELECT id, NULL, 'PENDING', 'request', gen_random_uuid()::text, 'pgb-' || :customer, now() FROM created
RETURNING order_id;

WITH appended AS (
    INSERT INTO messaging.outbox (aggregate, transport, destination, message_id, message_type, schema_version,
        message_key, correlation_id, causation_id, traceparent, occurred_at, body, delay_ms)
    SELECT m.aggregate, m.transport, m.destination, CASE WHEN m.n = 1 THEN :created_id::uuid ELSE gen_random_uuid() END,
        m.type, 1, :order_id::text, :order_id::text, :order_id::text, NULL, now(), m.body, m.delay_ms
    FROM (VALUES
        (1, 'order:' || :order_id, 'kafka', 'order', 'order.created',
            jsonb_build_object('orderID', :order_id::text, 'customerID', 'pgb-' || :customer, 'lines', :stock_lines::jsonb,
                'totalMinor', :total::bigint, 'currency', :currency::text), 0::bigint),
        (2, 'reminder-1:' || :order_id, 'amqp', 'order.payment-reminder-due', 'order.payment-reminder-due',
            jsonb_build_object('orderID', :order_id::text, 'number', 1), 14400000)
    ) AS m(n, aggregate, transport, destination, type, body, delay_ms)
    RETURNING id
)
SELECT array_agg(id)::text AS order_outbox_ids FROM appended
\gset
END;

-- (b) The product worker, order.created: the inbox row, the decision claimed, the stock read
-- (unlocked), then the stock rows locked in SKU order and moved, the reservation lines, the
-- decision, stock.reserved.
BEGIN;
INSERT INTO messaging.inbox (consumer, message_id, message_type)
VALUES ('worker-product', :created_id::uuid, 'order.created') ON CONFLICT DO NOTHING;
INSERT INTO catalog.reservations (order_id, status) VALUES (:order_id::uuid, 'rejected')
ON CONFLICT (order_id) DO NOTHING RETURNING order_id;
SELECT s.sku, s.available, p.deleted_at IS NOT NULL AS deleted
FROM catalog.stock s JOIN catalog.products p ON p.sku = s.sku
WHERE s.sku = ANY(:reserve_skus::text[]);
WITH locked AS (
    SELECT s.sku FROM catalog.stock s WHERE s.sku = ANY(:reserve_skus::text[]) ORDER BY s.sku FOR UPDATE
), moved AS (
    UPDATE catalog.stock s SET available = s.available - l.quantity, reserved = s.reserved + l.quantity
    FROM unnest(:reserve_skus::text[], :reserve_quantities::integer[]) AS l(sku, quantity)
    WHERE s.sku = l.sku AND s.sku IN (SELECT sku FROM locked)
), lines AS (
    INSERT INTO catalog.reservation_lines (order_id, sku, quantity)
    SELECT :order_id::uuid, sku, quantity FROM unnest(:reserve_skus::text[], :reserve_quantities::integer[]) AS l(sku, quantity)
)
UPDATE catalog.reservations SET status = 'reserved', updated_at = now() WHERE order_id = :order_id::uuid;
INSERT INTO messaging.outbox (aggregate, transport, destination, message_id, message_type, schema_version,
    message_key, correlation_id, causation_id, traceparent, occurred_at, body, delay_ms)
VALUES ('reservation:' || :order_id, 'kafka', 'order', gen_random_uuid(), 'stock.reserved', 1, :order_id::text,
    :order_id::text, :created_id::text, NULL, now(),
    jsonb_build_object('orderID', :order_id::text, 'lines', :stock_lines::jsonb), 0)
RETURNING id AS reserved_outbox_id, message_id AS reserved_id
\gset
END;

-- (c) The order worker, stock.reserved: the inbox row, the order locked and updated, the
-- confirmation mail command. (d) The relay marks the order's 4 outbox rows sent; it does so in
-- batches of many orders' rows, so here without a commit of its own.
BEGIN;
INSERT INTO messaging.inbox (consumer, message_id, message_type)
VALUES ('worker-order', :reserved_id::uuid, 'stock.reserved') ON CONFLICT DO NOTHING;
SELECT status, customer_id, stock, reminders_sent, created_at FROM ordering.orders WHERE id = :order_id::uuid FOR UPDATE;
UPDATE ordering.orders SET stock = 'reserved', stock_decided_at = now(), updated_at = now() WHERE id = :order_id::uuid;
INSERT INTO messaging.outbox (aggregate, transport, destination, message_id, message_type, schema_version,
    message_key, correlation_id, causation_id, traceparent, occurred_at, body, delay_ms)
VALUES ('mail:' || gen_random_uuid()::text, 'amqp', 'mail.send', gen_random_uuid(), 'mail.send', 1, :order_id::text,
    :order_id::text, :reserved_id::text, NULL, now(),
    jsonb_build_object('template', 'order_confirmation'::text, 'customerID', 'pgb-' || :customer, 'orderID', :order_id::text,
        'data', '{}'::jsonb), 0)
RETURNING id AS mail_outbox_id
\gset
UPDATE messaging.outbox SET sent_at = now(), attempts = attempts + 1
WHERE id = ANY(:order_outbox_ids::bigint[] || ARRAY[:reserved_outbox_id::bigint, :mail_outbox_id::bigint]);
END;
