-- The catalog (owned by the product worker and the product routes) and ordering (the order
-- worker and the order routes). Money is in minor units with an ISO 4217 currency; every
-- timestamp is timestamptz, stored and returned in UTC.

-- MARK: catalog

CREATE TABLE catalog.products (
    sku          text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '',
    price_minor  bigint NOT NULL CHECK (price_minor >= 0),
    currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Incremented by every change; the events carry it so that consumers apply them in order.
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Soft delete: the SKU stays taken, and reservations keep pointing at the row.
    deleted_at   timestamptz
);
CREATE INDEX products_live_name ON catalog.products (name, sku) WHERE deleted_at IS NULL;

-- One row per SKU. available + reserved + sold only changes when an admin sets the stock:
-- reserving, releasing and selling move units between the columns.
CREATE TABLE catalog.stock (
    sku        text PRIMARY KEY REFERENCES catalog.products (sku),
    available  integer NOT NULL CHECK (available >= 0),
    reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold       integer NOT NULL DEFAULT 0 CHECK (sold >= 0)
);

-- The product worker's decision per order, made once: reserved (then released or sold) or
-- rejected. A row also records a cancellation that arrived first, so a late order.created
-- (a replay) finds the order decided and reserves nothing.
CREATE TABLE catalog.reservations (
    order_id    uuid PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'sold')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.reservation_lines (
    order_id  uuid NOT NULL REFERENCES catalog.reservations (order_id),
    sku       text NOT NULL REFERENCES catalog.products (sku),
    quantity  integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku)
);

-- MARK: ordering

-- The order side's copy of the catalog, kept from product.* events (never read from catalog.*).
CREATE TABLE ordering.catalog (
    sku          text PRIMARY KEY,
    name         text NOT NULL,
    price_minor  bigint NOT NULL,
    currency     char(3) NOT NULL,
    version      bigint NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ordering.orders (
    id             uuid PRIMARY KEY,
    customer_id    text NOT NULL,
    status         text NOT NULL CHECK (status IN ('PENDING', 'PAID', 'COMPLETED', 'CANCELLED')),
    cancel_reason  text CHECK ((status = 'CANCELLED') = (cancel_reason IS NOT NULL)),
    -- What the product worker decided: awaiting, reserved or rejected.
    stock          text NOT NULL DEFAULT 'awaiting' CHECK (stock IN ('awaiting', 'reserved', 'rejected')),
    -- When the order side learned the product worker's decision (the load test's "reserved" time).
    stock_decided_at timestamptz,
    currency       char(3) NOT NULL,
    total_minor    bigint NOT NULL CHECK (total_minor >= 0),
    reminders_sent integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_customer ON ordering.orders (customer_id, created_at DESC, id DESC);

CREATE TABLE ordering.order_lines (
    order_id          uuid NOT NULL REFERENCES ordering.orders (id),
    line_number       integer NOT NULL,
    sku               text NOT NULL,
    name              text NOT NULL,
    quantity          integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_minor  bigint NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line_number)
);

-- Every transition with its cause: the request id (HTTP) or the message id (a worker).
CREATE TABLE ordering.status_history (
    id           bigserial PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES ordering.orders (id),
    from_status  text,
    to_status    text NOT NULL,
    reason       text,
    cause_kind   text NOT NULL CHECK (cause_kind IN ('request', 'message')),
    cause_id     text NOT NULL,
    actor        text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_history_by_order ON ordering.status_history (order_id, id);

-- POST /orders idempotency: the durable guarantee behind the Redis lock. The row is inserted
-- first in the order's transaction, so two requests with one key cannot both create an order,
-- with or without Redis.
CREATE TABLE ordering.idempotency_keys (
    customer_id      text NOT NULL,
    idempotency_key  text NOT NULL,
    fingerprint      text NOT NULL,
    order_id         uuid NOT NULL,
    response_status  integer NOT NULL,
    response_body    jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, idempotency_key)
);
